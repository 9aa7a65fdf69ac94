// XEP-0198 Stream Management on a session: what outlives a connection.
// When a stream with stream management ends, its connection hands over
// the stanzas the client has not acknowledged (msg::sm_parked). A
// session with resumption whose connection was lost detaches (§5): it
// stays bound with its presence unchanged, queues what comes for the
// client (bounded by limits.max_unacked) and waits `timeout` for a
// <resume/> on a new connection, which then writes them, XEP-0203
// stamped. Otherwise, or when the wait is over, the session ends as
// usual (unavailable presence to the contacts) and routes those stanzas
// again: with the session unbound the router applies RFC 6121 §8.5
// (another resource, offline storage, or an error to the sender; §5's
// "as if sent to an unavailable resource"), so none vanishes.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/delay.hpp"
#include "common/messages.hpp"
#include "common/stream_management.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

/// XEP-0198 §5: resent stanzas SHOULD carry a delay; presence and
/// messages get one (iqs are answered, not read later). Only when
/// resent: routed again, offline storage stamps them itself.
xml::element_ptr stamp(xml::element_ptr e, const std::string& domain,
                       std::time_t at) {
  if (!e || (e->name != "message" && e->name != "presence")
      || delay::has_stamp(*e))
    return e;
  return std::make_shared<xml::element>(delay::stamped(*e, domain, at));
}

} // namespace

void session_state::on_sm_enabled(const msg::sm_enabled& m) {
  sm = std::make_unique<sm_state>();
  sm->id = m.id;
  sm->timeout = m.timeout;
  if (!m.id.empty() && ctx->sm)
    self->attach_functor([reg = ctx->sm, id = m.id] { reg->remove(id); });
}

void session_state::on_sm_parked(msg::sm_parked& p) {
  if (sm_takeover_done(&p)) // the old connection of a takeover
    return;
  if (replaced || closed) {
    for (auto& e : p.unacked)
      if (e)
        returned.push_back(std::move(e));
    if (replaced && !giving_back) {
      giving_back = true;
      give_back("replaced");
    }
    return;
  }
  if (p.lost && sm && !sm->id.empty()) {
    sm_detach(p);
    return;
  }
  // The end of the stream ends the session (XEP-0198 §5: a closed
  // stream cannot be resumed). give_back() also collects what is still
  // on its way to the connection.
  for (auto& e : p.unacked)
    if (e)
      returned.push_back(std::move(e));
  giving_back = true;
  close(p.lost ? "connection lost" : "closed");
}

void session_state::sm_detach(msg::sm_parked& p) {
  auto& s = *sm;
  s.detached = true;
  s.handled = p.handled;
  s.acked = p.acked;
  s.sent = p.unacked.size();
  auto now = std::time(nullptr);
  std::vector<sm_state::queued> q;
  for (auto& e : p.unacked)
    q.push_back({std::move(e), now});
  // Live stanzas held behind stored ones (offline.cpp) come next; the
  // stored ones not written yet stay stored (their requests fail).
  if (held) {
    for (auto& e : *held)
      q.push_back({std::move(e), now});
    held.reset();
  }
  // Then what XEP-0352 held (csi.cpp): never sent, resent at the
  // resumption.
  for (auto& e : csi_take())
    q.push_back({std::move(e), now});
  // Then those that came while a takeover waited for the old
  // connection (sm_takeover.cpp); otherwise there are none.
  for (auto& x : s.queue)
    q.push_back(std::move(x));
  s.queue = std::move(q);
  ++s.detachment;
  // The connection hands back what we sent it meanwhile (it comes as
  // msg::undelivered, before it quits on closed_atom).
  self->demonitor(conn);
  self->send(conn, closed_atom::value);
  s.released = true;
  self->delayed_send(self, s.timeout, sm_timeout_atom::value, s.detachment);
  spdlog::info("{}: connection lost, session kept {} s for resumption "
               "({} unacknowledged)",
               full.str(), s.timeout.count(), s.sent);
  push_unacked(); // XEP-0357 (push.cpp)
  if (s.queue.size() > ctx->limits.max_unacked)
    sm_end("too many unacknowledged stanzas");
}

void session_state::sm_queue(xml::element_ptr e) {
  auto& s = *sm;
  s.queue.push_back({std::move(e), std::time(nullptr)});
  // (While a takeover waits, sm_detach() checks the bound.)
  if (s.detached && s.queue.size() > ctx->limits.max_unacked) {
    spdlog::info("{}: {} stanzas queued while detached (limits.max_unacked)",
                 full.str(), s.queue.size());
    sm_end("too many unacknowledged stanzas");
  }
}

msg::sm_resumed session_state::on_sm_resume(const msg::sm_resume& r) {
  msg::sm_resumed out;
  if (!detached() || closed || r.user.bare() != bare) {
    // §5: not resumable (attached, ended, or another user's): the
    // client binds anew.
    spdlog::info("{}: resumption by {} refused ({})", full.str(),
                 r.user.str(),
                 r.user.bare() != bare ? "another user"
                 : detached()          ? "closing"
                                       : "not detached");
    out.failure = "item-not-found";
    return out;
  }
  auto& s = *sm;
  auto n = sm::newly_acked(s.acked, r.h, s.sent);
  if (!n) {
    out.failure = "undefined-condition";
    out.handled = s.handled;
    out.send_count = static_cast<uint32_t>(s.acked + s.sent);
    spdlog::info("{}: resumption with h={} but {} sent", full.str(), r.h,
                 out.send_count);
    return out;
  }
  for (auto i = static_cast<std::size_t>(*n); i < s.queue.size(); ++i)
    if (auto& q = s.queue[i]; q.stanza)
      out.resend.push_back(stamp(std::move(q.stanza), full.domain(), q.at));
  std::vector<sm_state::queued>{}.swap(s.queue);
  s.sent = 0;
  s.detached = false;
  s.released = false;
  ++s.detachment; // the timer is void
  conn = r.connection;
  self->monitor(conn);
  out.full = full;
  out.handled = s.handled;
  return out;
}

void session_state::on_sm_timeout(uint64_t detachment) {
  if (detached() && sm->detachment == detachment)
    sm_end("resumption timed out");
}

void session_state::sm_end(const std::string& reason) {
  if (sm) {
    sm->detached = false;
    for (auto& q : sm->queue)
      if (q.stanza)
        returned.push_back(std::move(q.stanza));
    std::vector<sm_state::queued>{}.swap(sm->queue);
  }
  giving_back = true;
  spdlog::info("{}: session ends ({}), {} stanza(s) to route again",
               full.str(), reason, returned.size());
  close(reason);
}

void session_state::on_replaced() {
  closed = true;
  replaced = true;
  if (detached()) {
    sm->detached = false;
    for (auto& q : sm->queue)
      if (q.stanza)
        returned.push_back(std::move(q.stanza));
    giving_back = true;
    give_back("replaced");
    return;
  }
  // The connection hands over its unacknowledged stanzas (sm_parked)
  // when it has sent <conflict/>; they go to the new session.
  self->send(conn, msg::close_stream{"conflict", {}});
}

} // namespace dja
