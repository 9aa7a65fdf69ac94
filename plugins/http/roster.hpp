#pragma once

// Rosters from the web service (Prosody's mod_http_roster_admin): the
// roster of a response, the online users with the roster their clients
// were given, and the pushes when the service's roster changed
// (RFC 6121 §2.1.6). Prosody lets the web application POST a JSON list
// of user names to an HTTP endpoint of the XMPP server; here that
// request becomes the `refresh_users` message to the plugin actor (sent
// by refresh_endpoint.hpp), and `roster_refresh_s` polls the online
// users.

#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>

#include "common/jid.hpp"
#include "common/roster_item.hpp"
#include "plugins/http/client.hpp"
#include "plugins/http/config.hpp"

namespace dja::plugins::http {

/// anyone -> the plugin: fetch these users' rosters again and push what
/// changed to those online (the body of mod_http_roster_admin's refresh
/// endpoint).
struct refresh_users {
  std::vector<std::string> users; ///< local parts
};

/// The roster in `r` (200 + the JSON object); an error otherwise. A
/// skipped entry is logged.
caf::expected<roster> roster_of(const config& cfg, const response& r);

/// The online users of the vhost, their sessions, and the roster their
/// clients last got (the base of a refresh's pushes). One actor's.
class online_rosters {
public:
  void bound(const jid& full, caf::actor session);
  void closed(const jid& full);
  bool is_online(const std::string& user) const;
  std::vector<std::string> users() const;

  /// `r` was read while she is online; the first such read is taken as
  /// what her client has.
  void given(const std::string& user, const roster& r);

  /// Pushes the items of `now` that differ from what she was given and
  /// removals of those gone, to each of her sessions; returns how many
  /// pushes per session (0 when nothing changed or she is offline).
  size_t push_changes(const std::string& user, const roster& now);

private:
  std::map<std::string, std::map<std::string, caf::actor>> sessions_;
  std::map<std::string, roster> given_;
};

} // namespace dja::plugins::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::http::refresh_users)
