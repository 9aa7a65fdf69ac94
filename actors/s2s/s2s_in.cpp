// An incoming s2s stream: the stream header (jabber:server, one of our
// domains), features, and the stanzas of authenticated domains, checked
// as RFC 6120 §4.9.3 and §8.1.1.2 demand before they enter the router.

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "metrics/cells.hpp"
#include "s2s/in_state.hpp"
#include "s2s/wire.hpp"

namespace dja::s2s {

bool in_state::tls_possible() const {
  return !tls() && ctx->tls != nullptr && ctx->tls->find(local) != nullptr
         && cfg->trust != nullptr;
}

void in_state::on_stream_close() {
  write("</stream:stream>");
  ph = phase::closed;
  shut("closed by the peer");
}

void in_state::on_stream_bad_xml(const char* condition) {
  fail(condition);
}

void in_state::on_stream_lost(const std::string& why, bool) {
  ph = phase::closed;
  shut(why);
}

void in_state::on_stream_stanza(const xml::element_ptr& e) {
  metrics::stanza(metrics::stream_kind::s2s, metrics::direction::in, e->name);
  on_stanza(e);
}

void in_state::on_stream_open(const xml::stream_header& h) {
  if (ph != phase::header) {
    fail("bad-format", "unexpected stream header");
    return;
  }
  std::string to, from, version;
  for (auto& a : h.attrs)
    if (a.ns.empty()) {
      if (a.name == "to")
        to = a.value;
      else if (a.name == "from")
        from = a.value;
      else if (a.name == "version")
        version = a.value;
    }
  if (auto j = jid::parse(to); j && j->local().empty() && j->is_bare()
                               && ctx->find_vhost(j->domain()))
    local = j->domain();
  if (auto j = jid::parse(from); j && j->local().empty() && j->is_bare())
    peer = j->domain();
  send_header();
  if (h.name != "stream" || h.ns != ns::stream) {
    fail("invalid-namespace");
    return;
  }
  if (h.default_ns != ns_server) {
    fail("invalid-namespace", "only jabber:server streams are served here");
    return;
  }
  if (local.empty()) {
    fail("host-unknown"); // RFC 6120 §4.9.3.6
    return;
  }
  if (cfg->tls_required && !tls() && !tls_possible()) {
    fail("policy-violation", "TLS is required but " + local
                               + " has no certificate");
    return;
  }
  if (!header_logged) {
    header_logged = true;
    spdlog::info("s2s in {} <- {} ({}): stream opened{}", local,
                 peer.empty() ? "?" : peer, remote_addr,
                 tls() ? ", " + tls()->version() : std::string{});
  }
  ph = phase::open;
  // RFC 6120 §4.7.5: features only for version 1.0 peers; older ones
  // go straight to dialback.
  if (version.rfind("1.", 0) == 0)
    send_features();
}

void in_state::send_header() {
  if (header_sent)
    return;
  header_sent = true;
  stream_id = random_id();
  write(stream_header(local, peer, stream_id));
}

void in_state::send_features() {
  xml::element features{"features", ns::stream};
  if (tls_possible()) {
    auto& st = features.add_child(xml::element{"starttls", ns::tls});
    if (cfg->tls_required)
      st.add_child(xml::element{"required", ns::tls});
  }
  if (tls() || !cfg->tls_required || !tls_possible()) {
    // XEP-0178: EXTERNAL only when the certificate names the peer.
    if (!sasl_done && tls() && !peer.empty() && tls()->peer_valid_for(peer))
      features.add_child(xml::element{"mechanisms", ns::sasl})
        .add_child(xml::element{"mechanism", ns::sasl})
        .add_text("EXTERNAL");
    features.add_child(xml::element{"dialback", ns_dialback_feature})
      .add_child(xml::element{"errors", ns_dialback_feature});
  }
  std::string out = "<stream:features>";
  for (auto* child : features.elements())
    xml::serialize(*child, out, ns_server);
  out += "</stream:features>";
  write(out);
}

void in_state::on_stanza(const xml::element_ptr& e) {
  if (e->ns == ns::tls && e->name == "starttls") {
    on_starttls();
    return;
  }
  if (e->ns == ns::stream && e->name == "error") {
    auto cond = e->first_element();
    write("</stream:stream>");
    ph = phase::closed;
    shut("stream error from the peer: " + (cond ? cond->name : "?"));
    return;
  }
  if (cfg->tls_required && !tls()) {
    fail("policy-violation", "STARTTLS is required"); // RFC 6120 §5.3.1
    return;
  }
  if (e->ns == ns::sasl)
    on_sasl(*e);
  else if (e->ns == ns_dialback && e->name == "result")
    on_db_result(*e);
  else if (e->ns == ns_dialback && e->name == "verify")
    on_db_verify(*e);
  else if (e->ns == ns_server
           && (e->name == "message" || e->name == "presence"
               || e->name == "iq"))
    on_routable(e);
  else
    fail("unsupported-stanza-type");
}

void in_state::on_routable(const xml::element_ptr& e) {
  // RFC 6120 §8.1.1.2 / §8.1.2.2: both addresses on every s2s stanza.
  auto from_attr = e->attr("from");
  auto to_attr = e->attr("to");
  if (from_attr == nullptr || to_attr == nullptr) {
    fail("improper-addressing"); // §4.9.3.7
    return;
  }
  auto from = jid::parse(*from_attr);
  if (!from) {
    fail("invalid-from"); // §4.9.3.9
    return;
  }
  auto to = jid::parse(*to_attr);
  if (!to) {
    fail("improper-addressing");
    return;
  }
  if (ctx->find_vhost(to->domain()) == nullptr) {
    fail("host-unknown", "not served here: " + to->domain()); // §4.9.3.6
    return;
  }
  if (pairs.count({from->domain(), to->domain()}) == 0) {
    // §4.9.3.9: not a domain authenticated on this stream (for that
    // receiving domain).
    fail("invalid-from", from->domain() + " is not authenticated here");
    return;
  }
  xml::element_ptr stanza = retag(*e, ns_server, ns::client);
  auto type = stanza->attr_or("type");
  if (find_service(ctx->vhosts, to->domain())) { // a room, a component
    self->send(ctx->router.shard_for(*to), msg::route{stanza, *from, *to});
    return;
  }
  if (stanza->name == "iq" && to->is_bare()
      && (type == "get" || type == "set")) {
    // RFC 6120 §10.3 / §10.5.3.1: the server answers for the domain and
    // for bare JIDs, through the vhost's iq chain (vCard, ping, disco...).
    if (stanza->elements().size() != 1 || stanza->attr("id") == nullptr) {
      auto reply = errors::stanza_error(*stanza, "bad-request");
      self->send(ctx->router.shard_for(*from), msg::route{reply, *to, *from});
      return;
    }
    auto v = ctx->find_vhost(to->domain());
    auto src = *from;
    auto dst = *to;
    self->request(v->actor, caf::infinite, hooks::iq_request{stanza, src, dst})
      .then(
        [this, src, dst](xml::element_ptr& reply) {
          self->send(ctx->router.shard_for(src), msg::route{reply, dst, src});
        },
        [this, stanza, src, dst](caf::error&) {
          auto reply = errors::stanza_error(*stanza, "internal-server-error");
          self->send(ctx->router.shard_for(src), msg::route{reply, dst, src});
        });
    return;
  }
  if (to->local().empty() && to->is_bare() && stanza->name != "iq")
    return; // messages and presences to the server itself
  if (stanza->name == "iq" && (type == "result" || type == "error")) {
    // Matched with the request by the manager (exactly one answer).
    self->send(ctx->s2s, iq_answer{msg::route{stanza, *from, *to}});
    return;
  }
  self->send(ctx->router.shard_for(*to), msg::route{stanza, *from, *to});
}

void in_state::write(const std::string& text) {
  pump->write(text);
}

void in_state::fail(const std::string& condition, const std::string& text) {
  if (ph == phase::closed)
    return;
  send_header();
  ph = phase::closed;
  pump->close(errors::stream_error(condition, text));
  shut("stream error " + condition + (text.empty() ? "" : ": " + text));
}

void in_state::shut(const std::string& reason) {
  std::string domains;
  for (auto& [remote, ours] : pairs)
    domains += (domains.empty() ? "" : ",") + remote;
  spdlog::info("s2s in {} <- {} ({}): closed ({})", local,
               domains.empty() ? (peer.empty() ? "?" : peer) : domains,
               remote_addr, reason);
  pump->close();
  self->quit();
}

caf::behavior in_stream(in_broker* self, caf::io::connection_handle hdl,
                        context_ptr ctx) {
  auto& st = self->state;
  st.self = self;
  st.hdl = hdl;
  st.ctx = std::move(ctx);
  st.cfg = st.ctx->s2s_settings.get();
  const auto& lim = st.ctx->limits;
  st.pump.emplace(self, st,
                  stream::bounds{lim.s2s_stanza_size, lim.write_buffer,
                                 lim.s2s_rate, lim.rate_burst});
  st.remote_addr = self->remote_addr(hdl) + ":"
                   + std::to_string(self->remote_port(hdl));
  spdlog::debug("s2s in: connection from {}", st.remote_addr);
  st.pump->attach(hdl);
  self->delayed_send(self, st.cfg->handshake_timeout, s2s_timer_atom::value,
                     uint64_t{0});
  return {
    [self](const caf::io::new_data_msg& m) {
      self->state.pump->on_data(m.buf.data(), m.buf.size());
    },
    [self](hibernate_atom) { self->state.pump->on_hibernate_timer(); },
    [self](stream::read_atom) { self->state.pump->on_read_timer(); },
    [self](const caf::io::data_transferred_msg& m) {
      self->state.pump->on_written(m.written);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      st.pump->on_socket_closed();
      if (st.ph != in_state::phase::closed) {
        st.ph = in_state::phase::closed;
        st.shut("connection lost");
      }
    },
    [self](s2s_timer_atom, uint64_t) {
      // Unauthenticated streams do not linger (verify-only streams of
      // peers checking our dialback keys end here too).
      auto& st = self->state;
      if (st.pairs.empty() && st.verifies_pending == 0)
        st.fail("connection-timeout");
      else if (st.pairs.empty())
        self->delayed_send(self, st.cfg->handshake_timeout,
                           s2s_timer_atom::value, uint64_t{0});
    },
    [self](shutdown_atom) { self->state.fail("system-shutdown"); },
  };
}

} // namespace dja::s2s
