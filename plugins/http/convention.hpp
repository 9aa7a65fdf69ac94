#pragma once

// What the service's answers mean: the convention Prosody's
// mod_auth_http and MongooseIM's http auth share, and the roster JSON of
// Prosody's mod_http_roster_admin. Pure functions of an HTTP response,
// so every status and body has its unit test.
//
//   GET  BASE/check_password?user=U&server=S&pass=P  200 "true" | "false"
//   GET  BASE/user_exists?user=U&server=S            200 "true" | "false"
//   POST BASE/set_password  user, server, pass       200/201/204 | 404 | 403
//   POST BASE/register      user, server, pass       200/201/204 | 409 | 403
//   POST BASE/remove_user   user, server             200/201/204 | 404 | 403
//   any: 501 Not Implemented -> declined (the next plugin of the chain)
//
// Anything else (another status, a body that is neither "true" nor
// "false", no answer) is an error: a login gets <temporary-auth-failure/>
// and nothing is ever accepted by default.

#include <string>

#include <caf/expected.hpp>

#include "common/roster_item.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/http/client.hpp"

namespace dja::plugins::http {

/// The url-encoded `user=U&server=S[&pass=P]` of every auth call.
std::string auth_params(const std::string& user, const std::string& server,
                        const std::string* pass);

/// check_password and user_exists: handled(true/false), declined (501).
caf::expected<hooks::answer<bool>> boolean_answer(const response& r);

/// set_password, register, remove_user.
caf::expected<hooks::answer<hooks::account_result>>
account_answer(const response& r);

/// A roster from `{"contact@jid": {"name": "...", "groups": [...],
/// "subscription": "both"}}`; a contact without '@' is one of `domain`.
/// Entries that are not objects or name no valid JID are skipped and
/// counted in `skipped`; a body that is not a JSON object is an error.
caf::expected<roster> parse_roster(const std::string& body,
                                   const std::string& domain,
                                   size_t& skipped);

} // namespace dja::plugins::http
