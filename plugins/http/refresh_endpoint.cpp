// The refresh endpoint of the `http` plugin (refresh_endpoint.hpp).

#include "plugins/http/refresh_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "plugins/http/roster.hpp"

namespace dja::plugins::http {

namespace {

constexpr size_t max_request = 64 * 1024;
constexpr int read_timeout_ms = 2000;

caf::error fail(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// Reads one request (headers and a Content-Length body), bounded.
bool read_request(int fd, std::string& head, std::string& body) {
  std::string buf;
  char chunk[4096];
  size_t want = std::string::npos;
  size_t head_end = std::string::npos;
  while (buf.size() < max_request) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, read_timeout_ms) <= 0)
      return false;
    auto n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0)
      return false;
    buf.append(chunk, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end == std::string::npos)
        continue;
      head = buf.substr(0, head_end);
      want = 0;
      std::string lower = head;
      for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos)
        want = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
      if (want > max_request)
        return false;
    }
    if (buf.size() - head_end - 4 >= want) {
      body = buf.substr(head_end + 4, want);
      return true;
    }
  }
  return false;
}

void respond(int fd, int status, const char* reason) {
  auto text = "HTTP/1.1 " + std::to_string(status) + " " + reason
              + "\r\nContent-Type: text/plain\r\nContent-Length: "
              + std::to_string(std::strlen(reason))
              + "\r\nConnection: close\r\n\r\n" + reason;
  auto ignored = ::write(fd, text.data(), text.size());
  (void) ignored;
}

/// The value of header `name` (lower case, with the colon) or "".
std::string header(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find("\r\n" + name);
  if (at == std::string::npos)
    return {};
  auto b = at + 2 + name.size();
  auto e = head.find("\r\n", b);
  auto v = head.substr(b, e == std::string::npos ? e : e - b);
  auto s = v.find_first_not_of(' ');
  return s == std::string::npos ? "" : v.substr(s);
}

} // namespace

caf::expected<std::vector<std::string>>
parse_refresh_body(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return fail("the body is not a JSON array of user names");
  std::vector<std::string> out;
  for (auto& x : doc) {
    if (!x.is_string())
      return fail("the body is not a JSON array of user names");
    out.push_back(x.get<std::string>());
  }
  return out;
}

struct refresh_endpoint::impl {
  int fd = -1;
  std::string expected_auth; ///< "Basic ..." or "" (none required)
  caf::actor_addr plugin; ///< weak: the plugin owns this endpoint
  std::string tag;
  std::atomic<bool> stop{false};
  std::thread thread;

  void serve(int c) {
    std::string head;
    std::string body;
    if (!read_request(c, head, body))
      return respond(c, 400, "Bad Request");
    auto line = head.substr(0, head.find("\r\n"));
    if (line.rfind("POST /roster_admin/refresh ", 0) != 0)
      return respond(c, 404, "Not Found");
    if (!expected_auth.empty()
        && header(head, "authorization:") != expected_auth) {
      spdlog::warn("{}: refresh request without the right credentials",
                   tag);
      return respond(c, 401, "Unauthorized");
    }
    auto users = parse_refresh_body(body);
    if (!users) {
      spdlog::warn("{}: refresh request: {}", tag,
                   caf::to_string(users.error()));
      return respond(c, 400, "Bad Request");
    }
    spdlog::info("{}: refresh of {} roster(s) requested", tag,
                 users->size());
    if (auto target = caf::actor_cast<caf::actor>(plugin))
      caf::anon_send(target, refresh_users{std::move(*users)});
    respond(c, 200, "OK");
  }

  void run() {
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 500) <= 0)
        continue;
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0)
        continue;
      serve(c);
      ::close(c);
    }
  }
};

caf::expected<std::unique_ptr<refresh_endpoint>>
refresh_endpoint::start(const std::string& listen, std::string basic_auth,
                        caf::actor plugin, std::string tag) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return fail("refresh_listen: ADDRESS:PORT expected");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(
    std::strtoul(listen.c_str() + colon + 1, nullptr, 10)));
  if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &sa.sin_addr) != 1)
    return fail("refresh_listen: an IPv4 address expected");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0
      || ::listen(fd, 16) != 0) {
    auto err = std::string{std::strerror(errno)};
    if (fd >= 0)
      ::close(fd);
    return fail("refresh_listen " + listen + ": " + err);
  }
  std::unique_ptr<refresh_endpoint> ep{new refresh_endpoint};
  ep->impl_ = std::make_unique<impl>();
  auto& i = *ep->impl_;
  i.fd = fd;
  if (!basic_auth.empty())
    i.expected_auth = "Basic " + base64::encode(basic_auth);
  i.plugin = plugin.address();
  i.tag = std::move(tag);
  i.thread = std::thread{[p = ep->impl_.get()] { p->run(); }};
  return ep;
}

refresh_endpoint::~refresh_endpoint() {
  impl_->stop = true;
  impl_->thread.join();
  ::close(impl_->fd);
}

} // namespace dja::plugins::http
