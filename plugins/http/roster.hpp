#pragma once

// Rosters from the web service (Prosody's mod_http_roster_admin): the
// roster of a response. The online users, the roster their clients were
// given and the pushes when the service's roster changed (RFC 6121
// §2.1.6) are plugins/common/online_rosters.hpp. Prosody lets the web
// application POST a JSON list of user names to an HTTP endpoint of the
// XMPP server; here that request becomes the `refresh_users` message to
// the plugin actor (sent by refresh_endpoint.hpp), `roster_refresh_s`
// polls the online users, and `cache.invalidate` (`djabberd-actors ctl
// invalidate`) refreshes the users it concerns.

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>

#include "common/jid.hpp"
#include "common/roster_item.hpp"
#include "plugins/http/client.hpp"
#include "plugins/common/online_rosters.hpp"
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

/// The online users and the rosters they were given: the mechanism
/// shared with the other plugins whose rosters live outside the server.
using plugins::online_rosters;

} // namespace dja::plugins::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::http::refresh_users)
