// A component stream (XEP-0114 §3): the stream header in
// jabber:component:accept naming the component's domain, our header
// with a fresh stream id, the <handshake/> checked by the domain's plugin
// (component.hpp: connect_atom), then stanzas both ways (route.cpp). Stream
// errors as RFC 6120 §4.9 (XEP-0114 §3: not-authorized for a wrong
// secret, host-unknown for a domain without a component, conflict for a
// domain whose component is connected already).

#include <algorithm>
#include <cctype>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "component/stream_state.hpp"
#include "s2s/wire.hpp"

namespace dja::component {

std::string digest(std::string_view stream_id, std::string_view secret) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string input{stream_id};
  input += secret;
  std::string out;
  for (unsigned char c : crypto::digest(crypto::hash_fn::sha1, input)) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

jid directory_jid(const std::string& domain) {
  return jid::parse(domain)->with_resource("xep-0114");
}

void stream_state::on_stream_open(const xml::stream_header& h) {
  if (ph != phase::header) {
    fail("bad-format", "unexpected stream header");
    return;
  }
  std::string to;
  for (auto& a : h.attrs)
    if (a.ns.empty() && a.name == "to")
      to = a.value;
  if (auto j = jid::parse(to); j && j->local().empty() && j->is_bare())
    if (auto v = ctx->find_vhost(j->domain()))
      vhost = v;
  if (vhost != nullptr)
    domain = vhost->domain;
  send_header(); // RFC 6120 §4.9.1.2: our header before any error
  if (h.name != "stream" || h.ns != ns::stream) {
    fail("invalid-namespace");
    return;
  }
  if (h.default_ns != ns_accept) {
    fail("invalid-namespace", "only jabber:component:accept streams are "
                              "served here");
    return;
  }
  if (vhost != nullptr)
    plugin = plugin_of(vhost->actor);
  if (plugin == nullptr) {
    // XEP-0114 §3: no component of that name is configured.
    fail("host-unknown", "no component is configured for '" + to + "'");
    return;
  }
  ph = phase::handshake;
}

void stream_state::send_header() {
  if (header_sent)
    return;
  header_sent = true;
  stream_id = s2s::random_id();
  std::string out = "<?xml version='1.0'?><stream:stream xmlns='";
  out += ns_accept;
  out += "' xmlns:stream='http://etherx.jabber.org/streams' id='";
  out += stream_id;
  out += "'";
  if (!domain.empty()) {
    out += " from='";
    out += xml::escape(domain);
    out += "'";
  }
  out += ">";
  pump->write(out);
}

void stream_state::on_stream_stanza(const xml::element_ptr& e) {
  if (e->ns == ns::stream && e->name == "error") {
    auto cond = e->first_element();
    pump->write("</stream:stream>");
    ph = phase::closed;
    shut("stream error from the component: " + (cond ? cond->name : "?"));
    return;
  }
  switch (ph) {
    case phase::handshake:
      if (e->ns == ns_accept && e->name == "handshake")
        on_handshake(*e);
      else // RFC 6120 §4.9.3.12: nothing before authentication
        fail("not-authorized", "<handshake/> first");
      break;
    case phase::open:
      from_component(e);
      break;
    default: // the pump is paused while `asking`
      fail("bad-format");
  }
}

void stream_state::on_handshake(const xml::element& e) {
  auto text = e.text();
  // Hex either case (Prosody compares lower-cased too); blanks around.
  std::string given;
  for (unsigned char c : text)
    if (!std::isspace(c))
      given += static_cast<char>(std::tolower(c));
  ph = phase::asking;
  pump->pause();
  self
    ->request(plugin, std::chrono::seconds(10), connect_atom::value,
              stream_id, given, remote)
    .then(
      [this](std::string& refused) {
        if (ph != phase::asking)
          return;
        if (!refused.empty()) {
          spdlog::info("component {} ({}): handshake refused: {}", domain,
                       remote, refused);
          fail(refused, refused == "conflict"
                          ? "a component of this domain is connected"
                          : std::string{});
          return;
        }
        ph = phase::open;
        pump->write("<handshake/>");
        // Authenticated: its stanzas may be as large as a server's.
        pump->set_stanza_size(ctx->limits.s2s_stanza_size);
        spdlog::info("component {} ({}): connected", domain, remote);
        auto held = std::move(early);
        early.clear();
        for (auto& x : held)
          to_component(x);
        pump->resume();
      },
      [this](caf::error& err) {
        if (ph != phase::asking)
          return;
        spdlog::error("component {} ({}): handshake check failed: {}",
                      domain, remote, self->system().render(err));
        fail("internal-server-error");
      });
}

void stream_state::on_stream_close() {
  pump->write("</stream:stream>"); // RFC 6120 §4.4
  ph = phase::closed;
  shut("closed by the component");
}

void stream_state::on_stream_bad_xml(const char* condition) {
  fail(condition);
}

void stream_state::on_stream_lost(const std::string& why, bool overflow) {
  ph = phase::closed;
  if (overflow)
    bounce_unwritten();
  shut(why);
}

void stream_state::fail(const std::string& condition,
                        const std::string& text) {
  if (ph == phase::closed)
    return;
  send_header();
  ph = phase::closed;
  pump->close(errors::stream_error(condition, text));
  shut("stream error " + condition + (text.empty() ? "" : ": " + text));
}

void stream_state::shut(const std::string& reason) {
  spdlog::info("component {} ({}): closed ({}; {} stanzas in, {} out)",
               domain.empty() ? "?" : domain, remote, reason, stanzas_in,
               stanzas_out);
  pump->close();
  // The plugin of the domain watches this actor: it stops forwarding
  // (and unbinds the component in the cluster's directory).
  self->quit();
}

caf::behavior stream(broker* self, caf::io::connection_handle hdl,
                     context_ptr ctx) {
  auto& st = self->state;
  st.self = self;
  st.hdl = hdl;
  st.ctx = std::move(ctx);
  const auto& lim = st.ctx->limits;
  // Strangers get the pre-authentication bound; a component after its
  // handshake the s2s one (it carries many users' traffic), and the s2s
  // rate (XEP-0114 components are servers in all but name).
  st.pump.emplace(self, st,
                  stream::bounds{lim.preauth_stanza_size, lim.write_buffer,
                                 lim.s2s_rate, lim.rate_burst});
  st.remote = self->remote_addr(hdl) + ":"
              + std::to_string(self->remote_port(hdl));
  spdlog::debug("component: connection from {}", st.remote);
  st.pump->attach(hdl);
  self->delayed_send(self, st.ctx->negotiation_timeout, idle_atom::value);
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
      if (st.ph != stream_state::phase::closed) {
        st.ph = stream_state::phase::closed;
        st.shut("connection lost");
      }
    },
    [self](msg::deliver_local& m) {
      self->state.to_component(std::move(m.stanza));
    },
    [self](idle_atom) {
      // RFC 6120 §4.9.3.4: the handshake took too long.
      auto& st = self->state;
      if (st.ph != stream_state::phase::open)
        st.fail("connection-timeout");
    },
    // Another node bound this domain's component after us (a split
    // healed, two connects racing): the newer one serves it.
    [self](conflict_atom) {
      self->state.fail("conflict", "replaced by a component connected to "
                                   "another node");
    },
    [self](shutdown_atom) { self->state.fail("system-shutdown"); },
  };
}

} // namespace dja::component
