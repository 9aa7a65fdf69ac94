#include "connection/connection.hpp"

#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/operator_messages.hpp"
#include "common/stream_management.hpp"
#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"
#include "metrics/cells.hpp"

namespace dja {

namespace {

std::string random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(16, '0');
  auto n = rng();
  for (auto& c : id) {
    c = digits[n & 15];
    n >>= 4;
  }
  return id;
}

} // namespace

bool connection_state::tls_possible() const {
  return !tls() && opts.starttls != listener_options::starttls_mode::off
         && vhost != nullptr && vhost->has_tls && ctx->tls != nullptr;
}

bool connection_state::tls_required() const {
  return tls_possible()
         && opts.starttls == listener_options::starttls_mode::required;
}

bool connection_state::plain_allowed() const {
  // PLAIN only over TLS, unless allowed explicitly or TLS is impossible
  // on this stream (then the operator was warned at start).
  return tls() != nullptr || opts.allow_plain_without_tls || !tls_possible();
}

void connection_state::start_tls(SSL_CTX* ssl_ctx) {
  pump->start_tls(ssl_ctx);
  header_sent = false;
  ph = phase::header;
}

void connection_state::resume() {
  pump->resume();
}

void connection_state::on_stream_close() {
  // RFC 6120 §4.4: answer with our own close, then end.
  write("</stream:stream>");
  ph = phase::closed;
  shut("closed by client");
}

void connection_state::on_stream_bad_xml(const char* condition) {
  fail(condition);
}

void connection_state::on_stream_lost(const std::string& why, bool overflow) {
  spdlog::info("{} {}:{} {}",
               overflow             ? "disconnected"
               : pump->websocket() || pump->http() ? "lost"
                                    : "TLS error from",
               remote, remote_port,
               why + (user.empty() ? std::string{} : " " + user.str()));
  ph = phase::closed;
  lost = true;
  answer_written(true);
  if (overflow && session && !sm.enabled) {
    // The stanzas the kernel had not taken, and those the session still
    // hands us, were not written: they go back to it as undeliverable,
    // and from it to the router (RFC 6121 §8.5: offline storage or a
    // bounce); we stay until it is gone. (Under XEP-0198 the pump holds
    // every unacknowledged stanza: shut() hands them over at once.)
    for (auto& e : pump->take_unwritten())
      self->send(session, msg::undelivered{std::move(e)});
    self->send(session, overflow_atom::value);
    hold_for_session();
    spdlog::info("connection closed {}:{} {} (write buffer full)", remote,
                 remote_port, user.str());
    return;
  }
  shut(overflow              ? "write buffer full"
       : pump->websocket() ? "WebSocket closed"
                           : "TLS error");
}

void connection_state::on_stream_stanza(const xml::element_ptr& e) {
  metrics::stanza(metrics::stream_kind::c2s, metrics::direction::in, e->name);
  on_stanza(e);
}

void connection_state::on_stream_open(const xml::stream_header& h) {
  if (ph != phase::header) {
    fail("bad-format", "unexpected stream header");
    return;
  }
  // RFC 6120 §4.9.1.2: our header goes out before any error, with the
  // domain when we know it.
  auto to = jid::parse(h.ns == ns::stream ? [&] {
    for (auto& a : h.attrs)
      if (a.name == "to" && a.ns.empty())
        return a.value;
    return std::string{};
  }() : std::string{});
  const vhost_info* v = nullptr;
  if (to && to->local().empty() && to->is_bare())
    v = ctx->find_vhost(to->domain());
  send_header(v ? v->domain : std::string{});
  if (h.name != "stream" || h.ns != ns::stream) {
    fail("invalid-namespace");
    return;
  }
  if (h.default_ns != ns::client) {
    fail("invalid-namespace", "only jabber:client streams are served here");
    return;
  }
  std::string version;
  for (auto& a : h.attrs)
    if (a.name == "version" && a.ns.empty())
      version = a.value;
  // RFC 6120 §4.7.5: we speak 1.x; no version means pre-1.0.
  if (version.empty() || version.rfind("1.", 0) != 0) {
    fail("unsupported-version");
    return;
  }
  if (v == nullptr) {
    fail("host-unknown");
    return;
  }
  if (authenticated && v->domain != user.domain()) {
    fail("host-unknown", "restart to another domain");
    return;
  }
  vhost = v;
  if (!accepted && vhost->serves<hooks::connection_accepted>()) {
    accepted = true;
    pump->pause();
    self
      ->request(vhost->actor, std::chrono::seconds(60),
                hooks::connection_accepted{remote, remote_port})
      .then(
        [this](bool ok) {
          if (ph == phase::closed)
            return;
          if (!ok) {
            fail("policy-violation", "connection refused");
            return;
          }
          send_features();
          resume();
        },
        [this](caf::error&) {
          if (ph != phase::closed)
            fail("policy-violation", "connection refused");
        });
    return;
  }
  accepted = true;
  send_features();
}

void connection_state::send_header(const std::string& from) {
  if (header_sent)
    return;
  header_sent = true;
  stream_id = random_id();
  std::string out = "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
                    " xmlns:stream='http://etherx.jabber.org/streams' id='";
  out += stream_id;
  out += "'";
  if (!from.empty()) {
    out += " from='";
    out += xml::escape(from);
    out += "'";
  }
  out += " version='1.0' xml:lang='en'>";
  write(out);
}

void connection_state::send_features() {
  xml::element features{"features", ns::stream};
  if (!authenticated) {
    if (tls_possible()) {
      auto& st = features.add_child(xml::element{"starttls", ns::tls});
      if (tls_required())
        st.add_child(xml::element{"required", ns::tls});
    }
    if (!tls_required()) {
      auto& mechs = features.add_child(xml::element{"mechanisms", ns::sasl});
      for (auto& m : offered_mechanisms())
        mechs.add_child(xml::element{"mechanism", ns::sasl}).add_text(m);
      if (plus_enabled()) {
        // XEP-0440: the channel bindings we can verify on this connection
        // (which depend on its TLS version, stream/tls_channel_binding.cpp).
        auto& cb = features.add_child(
          xml::element{"sasl-channel-binding", "urn:xmpp:sasl-cb:0"});
        for (auto type : tls()->channel_binding_types())
          cb.add_child(xml::element{"channel-binding", "urn:xmpp:sasl-cb:0"})
            .set_attr("type", std::string{type});
      }
      if (vhost->inband_registration)
        features.add_child(xml::element{
          "register", "http://jabber.org/features/iq-register"});
    }
    ph = phase::sasl;
  } else {
    features.add_child(xml::element{"bind", ns::bind});
    if (vhost->serves<hooks::roster_get>()) {
      // RFC 6121 §2.6.1 roster versioning, §3.4 pre-approval.
      features.add_child(xml::element{"ver", "urn:xmpp:features:rosterver"});
      features.add_child(xml::element{"sub", "urn:xmpp:features:pre-approval"});
    }
    if (opts.stream_management) // XEP-0198 §2
      features.add_child(xml::element{"sm", sm::ns});
    if (vhost->csi) // XEP-0352 §2 (plugins/csi)
      features.add_child(xml::element{"csi", ns::csi});
    // RFC 3921 session establishment, optional since RFC 6121: old
    // clients still send it (COMPAT: libpurple, old Psi).
    features.add_child(xml::element{"session", ns::session})
      .add_child(xml::element{"optional", ns::session});
    ph = phase::bind;
  }
  std::string out = "<stream:features>";
  for (auto* child : features.elements())
    xml::serialize(*child, out, ns::client);
  out += "</stream:features>";
  write(out);
}

void connection_state::on_stanza(const xml::element_ptr& e) {
  switch (ph) {
    case phase::sasl:
      if (e->ns == ns::tls && e->name == "starttls") {
        if (!tls_possible()) {
          // RFC 6120 §5.4.2.2: failure, then close.
          write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                "</stream:stream>");
          ph = phase::closed;
          shut("STARTTLS refused");
          return;
        }
        write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        start_tls(ctx->tls->find(vhost->domain));
      } else if (tls_required()) {
        // RFC 6120 §5.3.1: TLS first.
        fail("policy-violation", "STARTTLS is required");
      } else if (e->ns == ns::sasl) {
        on_sasl(*e);
      } else if (on_sm(*e)) {
        // XEP-0198 before authentication: <failed/>
      } else if (preauth_register(e)) {
        // answered (or being answered) by the vhost's register plugin
      } else if (e->ns == ns::client
                 && (e->name == "message" || e->name == "presence"
                     || e->name == "iq")) {
        // RFC 6120 §4.9.3.12: no stanzas before authentication.
        fail("not-authorized");
      } else {
        fail("unsupported-stanza-type");
      }
      break;
    case phase::bind:
      on_bind_phase(e);
      break;
    case phase::bound:
      if (on_sm(*e))
        return;
      if (e->ns == ns::csi && vhost->csi) { // XEP-0352 (session/csi.cpp)
        // A nonza: XEP-0198 §4 counts stanzas only.
        self->send(session, msg::from_client{e});
        return;
      }
      if (sm.enabled)
        ++sm.handled; // XEP-0198 §4: every stanza, even our ping's answer
      if (e->name == "iq" && e->attr_or("id").rfind("c2s-ping-", 0) == 0
          && e->attr_or("type") != "get" && e->attr_or("type") != "set")
        return; // the answer to our XEP-0199 ping (on_idle_timer)
      if (e->ns != ns::client
          || (e->name != "message" && e->name != "presence"
              && e->name != "iq")) {
        fail("unsupported-stanza-type");
        return;
      }
      self->send(session, msg::from_client{e});
      break;
    default:
      fail("bad-format");
  }
}

void connection_state::write(const std::string& text) {
  pump->write(text);
}

void connection_state::write(const xml::element& e) {
  std::string out;
  // A WebSocket message is a document of its own (RFC 7395 §3.3.3):
  // jabber:client declared on each stanza.
  xml::serialize(e, out, pump->websocket() ? "" : ns::client);
  write(out);
}

void connection_state::write_kept(const xml::element_ptr& e) {
  write_stanza(e, true);
}

void connection_state::write_stanza(const xml::element_ptr& e, bool keep) {
  std::string out;
  xml::serialize(*e, out, pump->websocket() ? "" : ns::client);
  // Under XEP-0198 every stanza is held until acknowledged; otherwise
  // only those to hand back if the client stops reading.
  pump->write(out, keep || sm.enabled ? e : nullptr, true);
  metrics::stanza(metrics::stream_kind::c2s, metrics::direction::out, e->name);
  sm_counted();
}

void connection_state::answer_written(bool cut) {
  if (written_promises.empty())
    return;
  auto done = pump->written_total();
  std::size_t i = 0;
  for (; i < written_promises.size(); ++i) {
    auto& w = written_promises[i];
    if (w.end <= done)
      w.rp.deliver(caf::unit);
    else if (cut)
      w.rp.deliver(caf::make_error(caf::sec::request_receiver_down));
    else
      break;
  }
  written_promises.erase(written_promises.begin(), written_promises.begin() + i);
  if (written_promises.empty())
    std::vector<written_promise>{}.swap(written_promises);
}

void connection_state::fail(const std::string& condition,
                            const std::string& text) {
  fail_with(condition, errors::stream_error(condition, text));
}

void connection_state::fail_with(const std::string& condition,
                                 const std::string& last_words) {
  if (ph == phase::closed)
    return;
  if (http_only()) {
    // No XML stream to carry it.
    ph = phase::closed;
    pump->close();
    self->quit();
    return;
  }
  send_header(vhost ? vhost->domain : std::string{});
  spdlog::info("stream error {} to {}:{} {}", condition, remote, remote_port,
               user.empty() ? std::string{} : user.str());
  ph = phase::closed;
  pump->close(last_words);
  shut(condition.c_str());
}

void connection_state::hold_for_session() {
  overflowed = true;
  self->monitor(session);
  self->set_down_handler([this](caf::down_msg&) { self->quit(); });
}

void connection_state::on_idle_timer() {
  if (http_only() && ph != phase::closed) {
    // HTTP keep-alive: closed once idle for the negotiation timeout.
    auto idle = std::chrono::steady_clock::now() - pump->last_input();
    if (idle < ctx->negotiation_timeout) {
      self->delayed_send(
        self,
        std::chrono::duration_cast<caf::timespan>(ctx->negotiation_timeout
                                                  - idle),
        idle_atom::value);
      return;
    }
  }
  // RFC 6120 §4.9.3.4: negotiation too slow (bound streams are pinged).
  if (ph != phase::bound)
    fail("connection-timeout");
}

void connection_state::arm_ping_timer(caf::timespan after) {
  if (ctx->limits.c2s_idle_timeout.count() > 0)
    self->delayed_send(self, after, c2s_ping_atom::value);
}

void connection_state::on_ping_timer() {
  if (ph != phase::bound)
    return;
  // XEP-0199 §4.2: a bound stream silent for c2s_idle_timeout gets a
  // ping; if nothing at all arrives within c2s_ping_timeout it is dead.
  const auto& lim = ctx->limits;
  auto now = std::chrono::steady_clock::now();
  auto last = pump->last_input();
  if (ping_out && last < ping_sent) {
    lost = true; // a dead link: a resumable session waits (XEP-0198 §5)
    fail("connection-timeout");
    return;
  }
  ping_out = false;
  auto idle = now - last;
  if (idle < lim.c2s_idle_timeout) {
    arm_ping_timer(lim.c2s_idle_timeout - idle);
    return;
  }
  ping_out = true;
  ping_sent = now;
  if (pump->websocket()) {
    // RFC 7395 §3.4 / RFC 6455 §5.5.2: a WebSocket ping; the browser's
    // pong is input like any other.
    pump->ws_ping();
    arm_ping_timer(lim.c2s_ping_timeout);
    return;
  }
  // A stanza: counted by XEP-0198, held (as null: not worth resending).
  pump->write("<iq type='get' id='c2s-ping-" + std::to_string(++pings)
                + "' from='" + xml::escape(user.domain()) + "' to='"
                + xml::escape(user.str())
                + "'><ping xmlns='urn:xmpp:ping'/></iq>",
              nullptr, true);
  sm_counted();
  if (ph != phase::bound)
    return;
  arm_ping_timer(lim.c2s_ping_timeout);
}

void connection_state::shut(const char* reason) {
  if (overflowed)
    return; // waiting for the session (on_stream_lost)
  if (resuming) {
    // The session's answer to <resume/> decides (sm_resumed()).
    ph = phase::closed;
    pump->close();
    return;
  }
  answer_written(true);
  if (session && sm.enabled) {
    // XEP-0198: the counters and the unacknowledged stanzas go to the
    // session, which waits for a resumption (lost) or routes them again.
    self->send(session, msg::sm_parked{sm.handled, sm.acked,
                                       pump->take_unwritten(), lost});
    spdlog::info("connection closed {}:{} {} ({}{})", remote, remote_port,
                 user.str(), reason, lost ? ", resumable" : "");
    pump->close();
    hold_for_session();
    return;
  }
  if (session) {
    self->send(session, closed_atom::value);
    session = nullptr;
  }
  spdlog::info("connection closed {}:{} {} ({})", remote, remote_port,
               user.empty() ? "-" : user.str(), reason);
  pump->close();
  self->quit();
}

caf::behavior connection_actor(connection_broker* self,
                               caf::io::connection_handle hdl,
                               context_ptr ctx, listener_options opts) {
  auto& st = self->state;
  st.self = self;
  st.hdl = hdl;
  st.ctx = std::move(ctx);
  st.opts = opts;
  const auto& lim = st.ctx->limits;
  st.pump.emplace(self, st,
                  stream::bounds{lim.preauth_stanza_size, lim.write_buffer,
                                 lim.c2s_rate, lim.rate_burst});
  st.remote = self->remote_addr(hdl);
  st.remote_port = self->remote_port(hdl);
  spdlog::info("connection opened {}:{}", st.remote, st.remote_port);
  st.pump->attach(hdl);
  if (opts.direct_tls && st.ctx->tls)
    st.pump->start_tls(st.ctx->tls->default_context());
  // RFC 6120 §4.9.3.4 / DESIGN: idle unauthenticated streams are closed;
  // bound ones are pinged (on_idle_timer).
  self->delayed_send(self, st.ctx->negotiation_timeout, idle_atom::value);
  return {
    [self](const caf::io::new_data_msg& m) {
      self->state.pump->on_data(m.buf.data(), m.buf.size());
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      st.pump->on_socket_closed();
      if (st.ph != connection_state::phase::closed) {
        st.ph = connection_state::phase::closed;
        st.lost = true;
        st.shut("connection lost");
      }
    },
    [self](msg::to_client& m) {
      auto& st = self->state;
      if (self->current_message_id().is_request()) {
        // A stored stanza (offline.cpp): the answer says whether the
        // kernel took it; if not, it stays stored (not handed back).
        auto rp = self->make_response_promise();
        if (st.ph != connection_state::phase::bound) {
          rp.deliver(caf::make_error(caf::sec::request_receiver_down));
          return;
        }
        st.write_stanza(m.stanza, false);
        st.written_promises.push_back({st.pump->queued_total(), rp});
        st.answer_written(st.ph != connection_state::phase::bound);
        return;
      }
      if (st.ph == connection_state::phase::bound)
        st.write_kept(m.stanza);
      else if (st.overflowed && st.session)
        self->send(st.session, msg::undelivered{std::move(m.stanza)});
    },
    [self](const caf::io::data_transferred_msg& m) {
      auto& st = self->state;
      st.pump->on_written(m.written);
      st.answer_written();
    },
    [self](drain_atom) {
      // The session's last question before it hands back what we
      // returned (msg::undelivered): everything before it is answered.
    },
    [self](msg::close_stream& m) {
      auto& st = self->state;
      if (!m.condition.empty()) {
        st.fail(m.condition, m.text);
      } else if (st.ph != connection_state::phase::closed) {
        // XEP-0198 §5: a new connection resumed our session; the
        // counters and unacknowledged stanzas go to it (shut()).
        st.ph = connection_state::phase::closed;
        st.shut("taken over by a resumption");
      }
    },
    // `ctl sessions`: the TLS version of this stream ("": none).
    [self](info_atom) -> std::string {
      auto t = self->state.tls();
      return t != nullptr && t->handshake_done() ? t->version() : "";
    },
    [self](idle_atom) { self->state.on_idle_timer(); },
    [self](c2s_ping_atom) { self->state.on_ping_timer(); },
    [self](shutdown_atom) { self->state.fail("system-shutdown"); },
    [self](hibernate_atom) { self->state.pump->on_hibernate_timer(); },
    [self](stream::read_atom) { self->state.pump->on_read_timer(); },
    [self](throttle_atom) { self->state.on_throttle_timer(); },
    [self](sm_request_atom) { self->state.on_sm_request_timer(); },
    [self](closed_atom) {
      // The session took over what we held (XEP-0198 detach).
      if (self->state.overflowed)
        self->quit();
    },
  };
}

} // namespace dja
