// Negotiation on an outgoing s2s stream (RFC 6120 §4-§6): STARTTLS with
// the peer's certificate checked for its domain, then SASL EXTERNAL when
// that certificate is valid and the peer offers it (XEP-0178), else
// Server Dialback (XEP-0220). Verify requests for incoming streams go out
// as soon as the stream is open, authenticated or not (XEP-0220 §2.3).

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "s2s/dialback.hpp"
#include "s2s/out_state.hpp"
#include "s2s/s2s.hpp"
#include "s2s/wire.hpp"

namespace dja::s2s {

void out_state::send_header() {
  ph = phase::header;
  write(stream_header(local, remote, ""));
}

bool out_state::tls_usable() const {
  return cfg->trust != nullptr;
}

bool out_state::cert_valid() const {
  return tls() && tls()->handshake_done() && tls()->peer_valid_for(remote);
}

void out_state::on_stanza(const xml::element_ptr& e) {
  const auto& name = e->name;
  const auto& ens = e->ns;
  if (ens == ns::stream && name == "features") {
    on_features(e);
  } else if (ens == ns::stream && name == "error") {
    auto cond = e->first_element();
    write("</stream:stream>");
    finish(authenticated ? "" : "remote-server-not-found",
           "stream error " + (cond ? cond->name : std::string{"?"}));
  } else if (ens == ns::tls && name == "proceed" && ph == phase::starttls) {
    tls_header_pending = true;
    pump->start_tls_client(cfg->trust->client_context(local), remote);
    ph = phase::header;
  } else if (ens == ns::tls && name == "failure") {
    finish("remote-server-not-found", "STARTTLS refused by the peer");
  } else if (ens == ns::sasl && name == "success" && ph == phase::sasl) {
    authenticated = true;
    method = "EXTERNAL";
    pump->restart();
    send_header(); // RFC 6120 §6.4.6: restart; ready at its features
  } else if (ens == ns::sasl && name == "failure" && ph == phase::sasl) {
    sasl_tried = true;
    ph = phase::open;
    spdlog::info("s2s out {} -> {}: SASL EXTERNAL refused, trying dialback",
                 local, remote);
    authenticate();
  } else if (ens == ns_dialback && name == "result" && ph == phase::dialback) {
    if (e->attr_or("type") == "valid") {
      on_authenticated("dialback");
    } else {
      write("</stream:stream>");
      finish("remote-server-not-found",
             "dialback refused (type " + e->attr_or("type") + ")");
    }
  } else if (ens == ns_dialback && name == "verify") {
    auto i = verifies_sent.find(e->attr_or("id"));
    if (i == verifies_sent.end())
      return;
    auto type = e->attr_or("type");
    if (type == "valid" || type == "invalid")
      i->second.deliver(type == "valid");
    else
      i->second.deliver(caf::make_error(caf::sec::request_receiver_down));
    verifies_sent.erase(i);
  } else {
    // RFC 6120 §2.5: s2s streams go one way; nothing else is expected.
    spdlog::debug("s2s out {} -> {}: ignored <{}/> from the peer", local,
                  remote, name);
  }
}

void out_state::on_features(const xml::element_ptr& e) {
  features = e;
  if (authenticated) { // the restart after SASL
    on_authenticated("EXTERNAL");
    return;
  }
  auto starttls = e->child("starttls", ns::tls);
  if (!tls() && starttls && tls_usable()) {
    write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    ph = phase::starttls;
    return;
  }
  bool peer_requires = starttls && starttls->child("required");
  if (!tls() && (cfg->tls_required || peer_requires)) {
    write("</stream:stream>");
    finish("remote-server-not-found",
           starttls ? "TLS required by the peer, but no TLS here"
                    : "the peer offers no STARTTLS (s2s_tls = required)");
    return;
  }
  ph = phase::open;
  send_verifies();
  if (!queue.empty())
    authenticate();
}

void out_state::authenticate() {
  if (ph != phase::open)
    return;
  arm_handshake_timer();
  bool external_offered = false;
  if (features)
    if (auto mechs = features->child("mechanisms", ns::sasl))
      for (auto* m : mechs->elements())
        if (m->text() == "EXTERNAL")
          external_offered = true;
  if (!sasl_tried && external_offered && cert_valid()
      && cfg->trust->has_certificate(local)) {
    // XEP-0178 §2: the authorization identity is our domain.
    write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
          "mechanism='EXTERNAL'>"
          + base64::encode(local) + "</auth>");
    ph = phase::sasl;
    return;
  }
  if (cfg->require_certificate.count(remote) != 0) {
    write("</stream:stream>");
    finish("remote-server-not-found",
           "certificate authentication required (s2s_require_certificate): "
             + (tls() ? (cert_valid() ? std::string{"peer offers no EXTERNAL"}
                                    : tls()->peer_problem(remote))
                    : std::string{"no TLS"}));
    return;
  }
  xml::element db{"result", ns_dialback};
  db.set_attr("from", local).set_attr("to", remote);
  db.add_text(dialback_key(cfg->dialback_secret, remote, local, stream_id));
  write(to_wire(db));
  ph = phase::dialback;
}

void out_state::on_authenticated(const char* how) {
  authenticated = true;
  method = how;
  ph = phase::ready;
  spdlog::info("s2s out {} -> {}: authenticated ({}, {})", local, remote, how,
               tls() ? tls()->version() : std::string{"no TLS"});
  self->send(manager, stream_up{false, local, remote, how, tls() != nullptr});
  send_verifies();
  flush_queue();
}

void out_state::send_verifies() {
  for (auto& v : verifies_unsent) {
    xml::element db{"verify", ns_dialback};
    db.set_attr("from", local).set_attr("to", remote);
    db.set_attr("id", v.stream_id);
    db.add_text(v.key);
    write(to_wire(db));
    verifies_sent.emplace(v.stream_id, std::move(v.rp));
  }
  verifies_unsent.clear();
}

} // namespace dja::s2s
