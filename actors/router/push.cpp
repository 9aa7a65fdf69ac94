// XEP-0357 Push Notifications, the router's part. A message offline
// storage took (no session of the account was there) is told to the
// vhost's push plugin (`push.wake`, to the bare JID), which wakes the
// registered devices (plugins/push/README.md); sessions tell it about
// the messages they hold while detached or inactive
// (actors/session/push.cpp). The notifications go out from the
// account's bare JID, so the app server's answer comes back here when
// it is not a local session's (over s2s, from a component, or a
// bounce): it goes to the vhost, as a session hands over the answers it
// sends to the server (session.cpp iq_for_server).

#include <caf/all.hpp>

#include "router/shard.hpp"

namespace dja {

void shard_state::push_stored(const xml::element_ptr& stanza, const jid& to) {
  if (stanza->name != "message")
    return;
  auto v = vhosts->find(to.domain());
  if (v != vhosts->end() && v->second.serves<hooks::push_wake>())
    self->send(v->second.actor, hooks::push_wake{stanza, to.bare(), router});
}

void shard_state::answer_to_server(const msg::route& r) {
  auto v = vhosts->find(r.to.domain());
  // No payload: no plugin declared it (iq_request::key), nothing to do.
  if (v != vhosts->end() && r.stanza->first_element() != nullptr)
    caf::anon_send(v->second.actor,
                   hooks::iq_request{r.stanza, r.from, r.to});
}

} // namespace dja
