#pragma once

// The refresh endpoint of Prosody's mod_http_roster_admin, for the `http`
// plugin: the web application POSTs a JSON list of user names to
// `/roster_admin/refresh` when their friendships changed, and the plugin
// fetches those rosters again and pushes the changes to the users online.
//
// This server has no HTTP listener; this is the smallest one that serves
// that one request: a thread of the plugin's own (never an actor thread)
// on `refresh_listen`, one connection at a time, every read bounded in
// time (2 s) and size (64 KiB), HTTP/1.0-style (one request, then close).
// With `refresh_basic_auth` set, a request without those HTTP Basic
// credentials gets 401.

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

namespace dja::plugins::http {

class refresh_endpoint {
public:
  /// Listens on `address:port` ("127.0.0.1:5281") and sends
  /// `refresh_users` to `plugin` for each accepted request.
  static caf::expected<std::unique_ptr<refresh_endpoint>>
  start(const std::string& listen, std::string basic_auth,
        caf::actor plugin, std::string tag);

  ~refresh_endpoint();

private:
  refresh_endpoint() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The user names of a refresh request's body (a JSON array of strings);
/// an error for anything else.
caf::expected<std::vector<std::string>>
parse_refresh_body(const std::string& body);

} // namespace dja::plugins::http
