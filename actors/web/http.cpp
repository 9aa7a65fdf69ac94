// HTTP/1.1 requests and responses (http.hpp) on http_parser.

#include "web/http.hpp"

#include <http_parser.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <climits>

#include "common/base64.hpp"

namespace dja::web {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

const std::string* request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name)
      return &v;
  return nullptr;
}

bool request::header_has(std::string_view name, std::string_view token) const {
  auto want = lower(token);
  for (auto& [k, v] : headers) {
    if (k != name)
      continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = trim(rest.substr(0, comma));
      if (lower(item) == want)
        return true;
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

response response::text(int status, std::string body, std::string type) {
  response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(type));
  r.body = std::move(body);
  return r;
}

const char* reason(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
  }
}

std::string serialize(const response& r, bool keep_alive, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason(r.status);
  out += "\r\n";
  bool has_length = false;
  bool has_nosniff = false;
  for (auto& [k, v] : r.headers) {
    auto lk = lower(k);
    has_length = has_length || lk == "content-length";
    has_nosniff = has_nosniff || lk == "x-content-type-options";
    // A handler's header never splits the response.
    if (k.find_first_of("\r\n:") != std::string::npos
        || v.find_first_of("\r\n") != std::string::npos)
      continue;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (r.status != 101) {
    if (!has_length)
      out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!has_nosniff)
      out += "X-Content-Type-Options: nosniff\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  }
  out += "\r\n";
  if (!head)
    out += r.body;
  return out;
}

struct request_parser::impl {
  http_parser parser;
  http_parser_settings settings;
  std::size_t max_header;
  std::size_t max_body;
  std::size_t header_bytes = 0;
  request req;
  std::string url;
  std::string field;
  std::string value;
  bool in_value = false;
  bool done = false;
  int limit_status = 0;

  void flush_header() {
    if (!field.empty() || in_value)
      req.headers.emplace_back(lower(field), std::string{trim(value)});
    field.clear();
    value.clear();
    in_value = false;
  }

  bool count(std::size_t n) {
    header_bytes += n;
    if (header_bytes > max_header) {
      limit_status = 431;
      return false;
    }
    return true;
  }

  static impl& of(http_parser* p) { return *static_cast<impl*>(p->data); }

  impl(std::size_t mh, std::size_t mb) : max_header(mh), max_body(mb) {
    http_parser_settings_init(&settings);
    settings.on_message_begin = [](http_parser* p) {
      auto& s = of(p);
      s.req = request{};
      s.url.clear();
      s.field.clear();
      s.value.clear();
      s.in_value = false;
      s.header_bytes = 0;
      return 0;
    };
    settings.on_url = [](http_parser* p, const char* at, size_t n) {
      auto& s = of(p);
      if (!s.count(n))
        return 1;
      s.url.append(at, n);
      return 0;
    };
    settings.on_header_field = [](http_parser* p, const char* at, size_t n) {
      auto& s = of(p);
      if (!s.count(n))
        return 1;
      if (s.in_value)
        s.flush_header();
      s.field.append(at, n);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char* at, size_t n) {
      auto& s = of(p);
      if (!s.count(n))
        return 1;
      s.in_value = true;
      s.value.append(at, n);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      auto& s = of(p);
      s.flush_header();
      s.req.method = http_method_str(static_cast<http_method>(p->method));
      auto q = s.url.find('?');
      s.req.path = s.url.substr(0, q);
      if (q != std::string::npos)
        s.req.query = s.url.substr(q + 1);
      s.req.keep_alive = http_should_keep_alive(p) != 0;
      s.req.upgrade = p->upgrade != 0;
      if (p->content_length != ULLONG_MAX && p->content_length > s.max_body) {
        s.limit_status = 413;
        return -1; // stops with an error (callbacks return != 0)
      }
      return 0;
    };
    settings.on_body = [](http_parser* p, const char* at, size_t n) {
      auto& s = of(p);
      if (s.req.body.size() + n > s.max_body) {
        s.limit_status = 413;
        return 1;
      }
      s.req.body.append(at, n);
      return 0;
    };
    settings.on_message_complete = [](http_parser* p) {
      auto& s = of(p);
      s.done = true;
      http_parser_pause(p, 1); // one request at a time
      return 0;
    };
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
  }
};

request_parser::request_parser(std::size_t max_header_bytes,
                               std::size_t max_body_bytes)
  : impl_(std::make_unique<impl>(max_header_bytes, max_body_bytes)) {
}

request_parser::~request_parser() = default;

request_parser::status request_parser::feed(const char* data, std::size_t len,
                                            std::size_t& used) {
  auto& s = *impl_;
  used = 0;
  if (HTTP_PARSER_ERRNO(&s.parser) == HPE_PAUSED)
    http_parser_pause(&s.parser, 0);
  if (len == 0)
    return status::more;
  used = http_parser_execute(&s.parser, &s.settings, data, len);
  auto err = HTTP_PARSER_ERRNO(&s.parser);
  if (s.done)
    return status::complete;
  if (s.parser.upgrade && err == HPE_OK) {
    // An upgrade request: http_parser stops after its headers (and, with
    // a body, after it); what follows is the new protocol's.
    s.done = true;
    return status::complete;
  }
  if (err != HPE_OK && err != HPE_PAUSED) {
    error_status_ = s.limit_status != 0 ? s.limit_status : 400;
    error_text_ = s.limit_status == 431 ? "request headers too large"
                  : s.limit_status == 413
                    ? "request body too large"
                    : std::string{"malformed request: "}
                        + http_errno_description(err);
    return status::error;
  }
  return status::more;
}

request request_parser::take() {
  impl_->done = false;
  return std::move(impl_->req);
}

std::string websocket_accept(std::string_view key) {
  std::string in(key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  return base64::encode(
    std::string_view{reinterpret_cast<const char*>(digest), sizeof(digest)});
}

bool origin_allowed(const std::vector<std::string>& allowed,
                    const std::string* origin) {
  if (allowed.empty() || origin == nullptr)
    return true;
  auto norm = [](std::string_view s) {
    auto out = lower(trim(s));
    while (!out.empty() && out.back() == '/')
      out.pop_back();
    return out;
  };
  auto o = norm(*origin);
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
    return a == "*" || norm(a) == o;
  });
}

} // namespace dja::web
