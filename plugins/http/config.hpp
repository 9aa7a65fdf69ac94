#pragma once

// The options of the `http` plugin and what they become. Which hook
// families it serves follows from which URLs are set: `auth_url` (the
// auth.* hooks, the convention of Prosody's mod_auth_http and
// MongooseIM's http auth), `roster_url` (roster.get, as Prosody's
// mod_http_roster_admin), `vcard_url` (iq get vcard-temp, XEP-0054).

#include <chrono>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "hooks/plugin.hpp"
#include "plugins/http/client.hpp"

namespace dja::plugins::http {

struct config {
  std::string tag; ///< "http: vhost D", for the log
  std::string domain;
  std::string auth_url;   ///< BASE of check_password, user_exists, ...
  std::string roster_url; ///< with %s for the url-encoded user name
  std::string vcard_url;  ///< with %s for the url-encoded user name
  client_options client;
  /// Rosters of online users are fetched again this often and changes
  /// pushed to them (RFC 6121 §2.1.6); 0: only on `refresh_users`.
  std::chrono::seconds roster_refresh{0};
  /// ADDRESS:PORT of the refresh endpoint (refresh_endpoint.hpp); "" none.
  std::string refresh_listen;
  std::string refresh_basic_auth; ///< "user:password" or "" (none asked)
};

/// The option schema (keys, checks).
std::vector<option_spec> options();

/// The hooks served, from which URLs are set.
manifest describe(const toml::table& opts);

/// The configuration of the plugin of `ctx` (options already validated).
config configure(const spawn_context& ctx);

/// `pattern` with its `%s` replaced by url_encode(user).
std::string expand(const std::string& pattern, const std::string& user);

} // namespace dja::plugins::http
