#pragma once

// The offline policy of plugins/offline/serve.cpp: which messages are
// kept (XEP-0160 §3, XEP-0334, XEP-0085), the XEP-0203 delay stamp, the
// per-user quota and its error, and the `deliver` flow that asks the
// vhost whether the recipient exists.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::offline {

constexpr int64_t default_max_messages = 100;

/// How long `deliver` waits for auth.user_exists (below the vhost's
/// default 5 s plugin timeout, so a slow auth plugin is reported as such).
constexpr auto user_check_timeout = std::chrono::seconds(3);

/// Should `s` be kept for an offline user? <message/> of type normal or
/// chat (no type, or one we do not know, counts as normal: RFC 6121
/// §5.2.2); not error, groupchat or headline; not with an XEP-0334
/// <no-store/> hint; always with a <store/> hint; otherwise only with
/// content (a child other than chat states, hints and <thread/>: XEP-0085
/// standalone notifications are not stored).
bool storable(const xml::element& s);

/// Now as an XEP-0082 DateTime in UTC: 2024-05-01T12:34:56Z.
std::string utc_stamp();

/// `s` with an XEP-0203 <delay xmlns='urn:xmpp:delay' from='domain'
/// stamp='now'/> child.
xml::element stamped(const xml::element& s, const std::string& domain);

/// The answer for a user whose queue holds `max` stanzas already: XEP-0160
/// §2 step 3, <service-unavailable/> (see the README for why not
/// <resource-constraint/>). Logged.
hooks::answer<hooks::delivery_verdict>
queue_full(const char* plugin, const std::string& domain,
           const std::string& user, int64_t max);

/// The `max_messages` option (default 100; 0 = no limit; a negative value
/// is reported and replaced by the default).
int64_t max_messages(const spawn_context& ctx, const char* plugin);

/// The option schema entry of `max_messages`.
option_spec max_messages_option();

/// The manifest of the offline plugins.
manifest offline_manifest();

/// The `deliver` handler of a store: declines what is not for a user of
/// `domain` or not storable, asks the vhost `auth.user_exists` (declines
/// for unknown users: the router bounces <service-unavailable/>), then
/// answers `keep(bare JID, stamped stanza)`, a
/// caf::expected<answer<delivery_verdict>>. While the question is out,
/// later requests wait (CAF `await`), so stanzas are kept in arrival
/// order.
template <class Self, class Keep>
caf::result<hooks::answer<hooks::delivery_verdict>>
deliver(Self* self, const hooks::deliver& r, const std::string& domain,
        const caf::actor& vhost, const char* plugin, Keep keep) {
  using result = hooks::answer<hooks::delivery_verdict>;
  if (!r.stanza || r.to.domain() != domain || r.to.local().empty()
      || !storable(*r.stanza))
    return result::decline();
  if (!vhost)
    return caf::make_error(caf::sec::invalid_argument,
                           std::string{plugin}
                             + ": no vhost to ask auth.user_exists");
  auto rp = self->template make_response_promise<result>();
  auto user = r.to.bare();
  auto stanza = r.stanza;
  std::string dom = domain;
  self->request(vhost, user_check_timeout, hooks::auth_user_exists{user})
    .await(
      [rp, user, stanza, dom, keep](bool exists) mutable {
        if (!exists) {
          rp.deliver(result::decline());
          return;
        }
        caf::expected<result> res = keep(user, stamped(*stanza, dom));
        if (res)
          rp.deliver(std::move(*res));
        else
          rp.deliver(res.error());
      },
      [rp, dom, plugin](caf::error& err) mutable {
        spdlog::error("{}: vhost {}: deliver: auth.user_exists: {}", plugin,
                      dom, caf::to_string(err));
        rp.deliver(caf::make_error(caf::sec::runtime_error,
                                   std::string{plugin}
                                     + ": auth.user_exists failed"));
      });
  return rp;
}

} // namespace dja::plugins::offline
