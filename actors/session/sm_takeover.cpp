// XEP-0198 §5 resumption of a session whose old connection still looks
// alive: a half-open TCP connection (the client's network changed, the
// server has not noticed yet) keeps the session attached, and a client
// that resumes on a new connection would otherwise get <item-not-found/>
// and lose what the old stream had not delivered. As Prosody and
// ejabberd do, the new connection takes the session over: the old one
// is closed, hands over its counters and unacknowledged stanzas
// (msg::sm_parked, as when a connection is lost), and the resumption is
// answered from them exactly as for a detached session.
//
// The old connection is closed without a stream error (Prosody closes
// the socket; ejabberd ends the old process quietly too): the client
// that sent <resume/> has given that stream up, on a half-open link a
// <conflict/> would reach nobody, and where it does arrive (the link
// was alive after all) clients read <conflict/> (RFC 6120 §4.9.3.3) as
// "another client took my resource" and some bind anew, which would
// replace the session just resumed (RFC 6120 §7.7.2.2).

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "session/session_state.hpp"

namespace dja {

bool session_state::can_take_over(const msg::sm_resume& r) const {
  return sm && !sm->id.empty() && !sm->detached && !sm->taking_over
         && !closed && !replaced && !giving_back && r.user.bare() == bare;
}

void session_state::sm_take_over(const msg::sm_resume& r) {
  spdlog::info("{}: resumed while its connection is open: taken over",
               full.str());
  sm->taking_over = std::make_unique<sm_state::takeover>(
    sm_state::takeover{r, self->make_response_promise()});
  // Empty condition: closed without a stream error (see above). What
  // comes for the client meanwhile waits here (to_client()).
  self->send(conn, msg::close_stream{});
}

bool session_state::sm_takeover_done(msg::sm_parked* p) {
  if (!sm || !sm->taking_over)
    return false;
  auto t = std::move(sm->taking_over);
  if (p == nullptr || closed || replaced) {
    // The old connection died without handing over (nothing to count
    // the client's h against), or a bind replaced the session
    // meanwhile: the client binds anew, and what waited here is routed
    // again (RFC 6121 §8.5), never dropped.
    msg::sm_resumed failed;
    failed.failure = "item-not-found";
    t->rp.deliver(std::move(failed));
    if (p == nullptr) {
      sm_end("connection lost during a takeover");
      return true;
    }
    for (auto& q : sm->queue)
      if (q.stanza)
        returned.push_back(std::move(q.stanza));
    std::vector<sm_state::queued>{}.swap(sm->queue);
    return false;
  }
  sm_detach(*p);
  t->rp.deliver(on_sm_resume(t->request));
  return true;
}

} // namespace dja
