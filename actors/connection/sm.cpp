// XEP-0198 Stream Management on a c2s connection: <enable/> and
// <enabled/> (§3), acks both ways with 'h' counted modulo 2^32 (§4),
// <resume/> and <resumed/> (§5), <failed/> (§6).
//
// The counters live here; the stanzas sent and not yet acknowledged are
// held by the pump (stream::pump::keep_until_acked(), the queue that
// also hands back what a client that stops reading did not get). When
// the connection ends they go to the session (msg::sm_parked, in
// shut()), which waits for a resumption or routes them again
// (session/sm.cpp).

#include <algorithm>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/stream_management.hpp"
#include "connection/connection_state.hpp"

namespace dja {

namespace {

/// How long the server lets unacknowledged stanzas wait before it asks
/// (Prosody's smacks_max_ack_delay is 30 s; a count asks sooner).
constexpr auto ack_request_delay = std::chrono::seconds(30);

/// Unacknowledged stanzas after which the server asks for an ack at
/// once (at most half of limits.max_unacked, so that a client that acks
/// when asked never reaches it). Each <r/> costs a write and the <a/> a
/// parse: every 32 stanzas keeps that near 3 % of a busy stream's
/// elements, and holds at most a few dozen stanzas per stream.
std::size_t ack_request_count(const limits& lim) {
  return std::max<std::size_t>(1, std::min<std::size_t>(32,
                                                        lim.max_unacked / 2));
}

} // namespace

bool connection_state::on_sm(const xml::element& e) {
  if (e.ns != sm::ns)
    return false;
  if (!opts.stream_management) {
    fail("unsupported-stanza-type", "stream management is off here");
    return true;
  }
  if (e.name == "enable") {
    // §3: after resource binding, once.
    if (ph != phase::bound || sm.enabled)
      sm_failed("unexpected-request");
    else
      sm_enable(e);
  } else if (e.name == "resume") {
    // §5: after authentication, instead of binding.
    if (ph != phase::bind)
      sm_failed("unexpected-request");
    else
      sm_resume(e);
  } else if (e.name == "r") {
    if (!sm.enabled)
      sm_failed("unexpected-request");
    else
      write("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(sm.handled)
            + "'/>");
  } else if (e.name == "a") {
    if (!sm.enabled)
      sm_failed("unexpected-request");
    else
      sm_ack(e);
  } else {
    fail("unsupported-stanza-type");
  }
  return true;
}

void connection_state::sm_failed(const char* condition, const std::string& h,
                                 const std::string& text) {
  xml::element out{"failed", sm::ns};
  if (!h.empty())
    out.set_attr("h", h);
  out.add_child(xml::element{condition, ns::stanzas_err});
  if (!text.empty())
    out.add_child(xml::element{"text", ns::stanzas_err}).add_text(text);
  write(out);
}

void connection_state::sm_enable(const xml::element& e) {
  // §4: both counters start at <enabled/>; what was written before it
  // is not counted.
  sm.enabled = true;
  pump->keep_until_acked();
  xml::element out{"enabled", sm::ns};
  auto want = e.attr_or("resume");
  auto timeout = ctx->limits.resume_timeout;
  std::string id;
  if ((want == "true" || want == "1") && ctx->sm && timeout.count() > 0) {
    // §5: the client's preferred maximum, up to ours.
    if (auto max = sm::parse_h(e.attr_or("max"));
        max && *max > 0 && *max < timeout.count())
      timeout = std::chrono::seconds{*max};
    id = ctx->sm->add(session);
    out.set_attr("id", id).set_attr("resume", "true");
    out.set_attr("max", std::to_string(timeout.count()));
  }
  // The session learns it before anything else from us: at the end of
  // this stream it gets the unacknowledged stanzas (msg::sm_parked).
  self->send(session, msg::sm_enabled{id, timeout});
  write(out);
}

void connection_state::sm_ack(const xml::element& e) {
  auto h = sm::parse_h(e.attr_or("h"));
  if (!h) {
    fail("invalid-xml", "<a/> needs 'h', an unsigned 32-bit integer");
    return;
  }
  auto outstanding = pump->unacked();
  auto n = sm::newly_acked(sm.acked, *h, outstanding);
  if (!n) {
    // §4: more acknowledged than sent.
    auto sent = std::to_string(static_cast<uint32_t>(sm.acked + outstanding));
    auto hs = std::to_string(*h);
    spdlog::info("{}:{} {}: acknowledged {} stanzas, {} sent", remote,
                 remote_port, user.str(), hs, sent);
    fail_with("undefined-condition",
              "<stream:error><undefined-condition xmlns='"
                + std::string{ns::streams_err}
                + "'/><handled-count-too-high xmlns='urn:xmpp:sm:3' h='" + hs
                + "' send-count='" + sent + "'/><text xmlns='"
                + ns::streams_err + "'>You acknowledged " + hs
                + " stanzas, but I only sent you " + sent
                + " so far.</text></stream:error></stream:stream>");
    return;
  }
  pump->ack(*n);
  sm.acked = *h;
  sm.requested = false;
}

void connection_state::sm_counted() {
  if (!sm.enabled || ph != phase::bound)
    return;
  const auto& lim = ctx->limits;
  auto n = pump->unacked();
  if (n > lim.max_unacked) {
    // RFC 6120 §4.9.3.14; the session routes them again.
    fail("policy-violation", "too many unacknowledged stanzas");
    return;
  }
  if (!sm.requested && n >= ack_request_count(lim)) {
    sm.requested = true;
    write("<r xmlns='urn:xmpp:sm:3'/>");
  } else if (!sm.timer) {
    sm.timer = true;
    self->delayed_send(self, ack_request_delay, sm_request_atom::value);
  }
}

void connection_state::on_sm_request_timer() {
  sm.timer = false;
  // Also when an earlier <r/> went unanswered: it may be lost with its
  // answer in a dying link; asking again costs a few bytes.
  if (ph == phase::bound && sm.enabled && pump->unacked() > 0) {
    sm.requested = true;
    write("<r xmlns='urn:xmpp:sm:3'/>");
  }
}

void connection_state::sm_resume(const xml::element& e) {
  auto previd = e.attr_or("previd");
  auto h = sm::parse_h(e.attr_or("h"));
  if (!h) {
    sm_failed("bad-request");
    return;
  }
  auto s = ctx->sm ? ctx->sm->find(previd) : caf::actor{};
  if (!s) {
    auto node = sm::registry::node_of(previd);
    spdlog::info("{}:{} {}: no resumable session '{}'{}", remote,
                 remote_port, user.str(), previd,
                 ctx->sm && node != ctx->sm->node()
                   ? " (minted by another node)"
                   : "");
    sm_failed("item-not-found");
    return;
  }
  resuming = true;
  pump->pause();
  self->request(s, std::chrono::seconds(30), msg::sm_resume{user, *h, self})
    .then(
      [this, s, h = *h, previd](msg::sm_resumed& r) {
        resuming = false;
        sm_resumed(r, s, h, previd);
      },
      [this](caf::error&) {
        resuming = false;
        if (ph == phase::closed) {
          self->quit();
          return;
        }
        sm_failed("item-not-found");
        resume();
      });
}

void connection_state::sm_resumed(msg::sm_resumed& r, const caf::actor& s,
                                  uint32_t h, const std::string& previd) {
  if (ph == phase::closed) {
    if (r.failure.empty()) {
      // Lost while the session answered: it waits again.
      session = s;
      self->send(s, msg::sm_parked{r.handled, h, std::move(r.resend), true});
      hold_for_session();
    } else {
      self->quit();
    }
    return;
  }
  if (r.failure == "undefined-condition") {
    // §5 with §4's rule: the client claims more than was sent; the
    // session keeps waiting (a right h may still come).
    auto hs = std::to_string(h);
    auto sent = std::to_string(r.send_count);
    sm_failed("undefined-condition", std::to_string(r.handled),
              "You acknowledged " + hs + " stanzas, but I only sent you "
                + sent + " so far.");
    ph = phase::closed;
    pump->close("</stream:stream>");
    shut("resumption with a wrong h");
    return;
  }
  if (!r.failure.empty()) {
    sm_failed(r.failure.c_str());
    resume();
    return;
  }
  session = s;
  user = r.full;
  ph = phase::bound;
  sm.enabled = true;
  sm.handled = r.handled;
  sm.acked = h;
  pump->keep_until_acked();
  write("<resumed xmlns='urn:xmpp:sm:3' previd='" + xml::escape(previd)
        + "' h='" + std::to_string(r.handled) + "'/>");
  spdlog::info("resumed {}:{} as {} ({} stanza(s) resent)", remote,
               remote_port, user.str(), r.resend.size());
  for (auto& e : r.resend)
    if (ph == phase::bound)
      write_kept(e);
  arm_ping_timer(ctx->limits.c2s_idle_timeout);
  resume();
}

} // namespace dja
