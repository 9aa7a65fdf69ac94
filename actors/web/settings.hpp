#pragma once

// One `http` listener's settings and its route table (docs/web.md).
//
// A route is a method and a path prefix bound to a handler actor: the
// connection that parsed the request sends it a web::request and waits
// (at most `timeout`) for a web::response:
//
//   [](const web::request& r) -> web::response { ... }
//
// The handler may answer later (a response promise), run detached if it
// blocks, and decides everything about the answer (status, headers,
// body); the connection adds Content-Length, Connection and
// X-Content-Type-Options: nosniff. The built-in routes (/health, the
// XEP-0156 host-meta files and the WebSocket path) come first, then the
// table in order: the first route whose method (empty: any) and prefix
// match gets the request, else 404.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <caf/actor.hpp>

namespace dja::web {

struct route {
  std::string method; ///< "GET", "PUT", ...; "" any
  std::string prefix; ///< "/metrics", "/upload/"
  caf::actor handler;
  std::chrono::milliseconds timeout{10000};
};

struct settings {
  bool tls = true; ///< TLS from the first byte (https, wss)
  std::string websocket_path = "/xmpp-websocket";
  /// Origins a browser may open WebSockets from ("*": any; empty: any).
  std::vector<std::string> allowed_origins;
  /// What host-meta advertises; "" builds it from the request's Host.
  std::string websocket_url;
  std::size_t max_header = 16 * 1024;
  std::size_t max_body = 1024 * 1024;
  std::vector<route> routes;

  /// The first route for `method` and `path`, or null.
  const route* find(const std::string& method, const std::string& path) const {
    for (auto& r : routes)
      if ((r.method.empty() || r.method == method
           || (method == "HEAD" && r.method == "GET"))
          && path.compare(0, r.prefix.size(), r.prefix) == 0)
        return &r;
    return nullptr;
  }
};

} // namespace dja::web
