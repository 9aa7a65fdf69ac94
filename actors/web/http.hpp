#pragma once

// HTTP/1.1 for the `http` listener (docs/web.md): requests parsed by
// Node's http_parser (Debian libhttp-parser-dev), fed from the stream
// pump (actors/stream) like any other bytes, and the responses written
// back. No I/O here: the caller feeds bytes and takes requests.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

namespace dja::web {

/// One request, complete (headers and body).
struct request {
  std::string method; ///< "GET", "PUT", ...
  std::string path;   ///< without the query, percent-escapes kept
  std::string query;  ///< after '?', "" if none
  /// Header names in lower case, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;
  bool upgrade = false; ///< Connection: upgrade (WebSocket)
  std::string remote;   ///< the peer's address
  bool tls = false;     ///< came over TLS

  /// The first header `name` (lower case), or null.
  const std::string* header(std::string_view name) const;
  /// True when the comma-separated header `name` lists `token`
  /// (case-insensitive).
  bool header_has(std::string_view name, std::string_view token) const;
};

/// A handler's answer.
struct response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static response text(int status, std::string body,
                       std::string type = "text/plain; charset=utf-8");
};

/// The reason phrase of `status` ("Not Found").
const char* reason(int status);

/// The response on the wire: status line, the headers, Content-Length,
/// Connection (keep-alive or close), the security headers every answer
/// carries (X-Content-Type-Options: nosniff), then the body (not for
/// HEAD).
std::string serialize(const response& r, bool keep_alive, bool head = false);

/// Parses requests from a byte stream. feed() stops after each complete
/// request (the caller answers it, then feeds the rest: one request at a
/// time, in order) and after an upgrade request's headers (the bytes
/// after them are the new protocol's).
class request_parser {
public:
  /// Limits: the request line and headers, and the body.
  request_parser(std::size_t max_header_bytes, std::size_t max_body_bytes);
  ~request_parser();
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  enum class status {
    more,     ///< everything consumed, no complete request yet
    complete, ///< a request is ready (take()); unconsumed bytes remain
    error,    ///< malformed or over a limit: answer error_status(), close
  };
  /// Parses from `data`; `used` is how many bytes were consumed.
  status feed(const char* data, std::size_t len, std::size_t& used);
  request take();
  /// 400, 413 (body too large) or 431 (headers too large).
  int error_status() const { return error_status_; }
  std::string error_text() const { return error_text_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int error_status_ = 400;
  std::string error_text_;
};

/// RFC 6455 §4.2.2: Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string websocket_accept(std::string_view key);

/// The origin check of a WebSocket upgrade: true when `allowed` is
/// empty (no check), holds "*", or holds `origin` (compared without
/// case and without a trailing slash). A request without an Origin
/// header (not a browser) passes.
bool origin_allowed(const std::vector<std::string>& allowed,
                    const std::string* origin);

} // namespace dja::web

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::web::request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::web::response)
