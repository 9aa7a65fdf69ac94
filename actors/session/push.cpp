// XEP-0357 Push Notifications, the session's part: a message for a
// client that may be asleep (its session detached by XEP-0198, waiting
// for <resume/>, or inactive by XEP-0352) is told to the vhost's push
// plugin (`push.wake`), which decides whether the app server wakes the
// device (plugins/push/README.md); at the detachment, so are the
// messages the client had not acknowledged (they may never have reached
// it; the plugin makes one notification of them). Only messages:
// presence and iq traffic never wake a phone (as Prosody's
// mod_cloud_notify).

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "session/session_state.hpp"

namespace dja {

void session_state::push_wake(const xml::element_ptr& e) {
  if (e->name != "message" || (!detached() && !csi) || vhost == nullptr
      || !vhost->serves<hooks::push_wake>())
    return;
  self->send(vhost->actor, hooks::push_wake{e, full, ctx->router});
}

void session_state::push_unacked() {
  for (auto& q : sm->queue)
    if (q.stanza)
      push_wake(q.stanza);
}

} // namespace dja
