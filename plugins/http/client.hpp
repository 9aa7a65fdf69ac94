#pragma once

// The HTTP client of the `http` plugin: libcurl's multi interface driven
// by one thread of its own (curl_multi_poll), so no actor thread ever
// waits on the network. An actor submits a request with an id; the
// answer comes back to it as a `done` message. Every request has a
// deadline (a timeout is an error, never a "false"), the response body
// is capped, TLS peers are verified (libcurl's defaults, `ca_file`), and
// only http:// and https:// URLs are followed, never redirects.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

namespace dja::plugins::http {

/// One request: a GET, or a POST of an application/x-www-form-urlencoded
/// or application/json body.
struct request {
  std::string url;
  bool post = false;
  std::string body;         ///< POST only
  std::string content_type; ///< POST only
};

/// What came back. `error` is set when there is no usable HTTP answer
/// (connection refused, timeout, TLS failure, body too large).
struct response {
  long status = 0;
  std::string body;
  std::string error; ///< "" when `status` and `body` are the answer
};

/// client thread -> submitting actor: the answer to request `id`.
struct done {
  uint64_t id = 0;
  response r;
};

struct client_options {
  std::string tag;             ///< log prefix
  std::string basic_user;      ///< HTTP Basic credentials of the server
  std::string basic_password;
  std::string ca_file;         ///< "": the system's CA store
  bool tls_verify = true;      ///< false only by an explicit option
  std::chrono::milliseconds timeout{3000};
  size_t max_response_bytes = 64 * 1024;
  long max_connections = 4;    ///< open at once, all hosts
};

/// Owns the thread and libcurl's multi handle; stopping (the destructor)
/// drops the requests in flight (their actors get no answer; they are
/// going away too).
class client {
public:
  explicit client(client_options opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Queues `req`; `reply_to` gets `done{id, ...}` exactly once.
  void submit(uint64_t id, request req, caf::actor reply_to);

  const client_options& options() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// `s` percent-encoded for a query string or a form body (curl_easy_escape).
std::string url_encode(const std::string& s);

} // namespace dja::plugins::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::http::done)
