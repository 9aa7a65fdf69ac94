// Presence from outside a vhost reaching one of its users: the
// `presence.received` hook (hooks/catalogue.hpp). The vhost's plugins
// follow its own sessions through session.bound and the presence folds;
// a contact on another vhost of this server or on a remote server is
// seen only here, where the router delivers its presence (RFC 6121
// §8.5.2.1.2, §8.5.3.1). PEP learns those contacts' XEP-0115 caps from
// it (XEP-0163 §4.3.5).

#include <caf/all.hpp>

#include "router/shard.hpp"

namespace dja {

void shard_state::presence_received(const msg::route& r) {
  if (r.stanza->name != "presence" || r.from.domain() == r.to.domain()
      || r.from.local().empty())
    return;
  auto type = r.stanza->attr_or("type");
  if (!type.empty() && type != "unavailable")
    return; // subscriptions, probes and errors say nothing of a client
  auto v = vhosts->find(r.to.domain());
  if (v == vhosts->end() || !v->second.serves<hooks::presence_received>())
    return;
  self->send(v->second.actor,
             hooks::presence_received{r.stanza, r.from, r.to, router});
}

} // namespace dja
