// Authentication on an incoming s2s stream: STARTTLS (asking the peer for
// its certificate), SASL EXTERNAL when that certificate names the peer
// (XEP-0178), and Server Dialback (XEP-0220) in both roles: as receiving
// server (db:result, checked with the authoritative server over an
// outgoing stream) and as authoritative server (db:verify, checked
// against our own secret).

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/namespaces.hpp"
#include "s2s/dialback.hpp"
#include "s2s/in_state.hpp"
#include "s2s/wire.hpp"

namespace dja::s2s {

void in_state::on_starttls() {
  if (!tls_possible()) {
    // RFC 6120 §5.4.2.2: failure, then close.
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
          "</stream:stream>");
    ph = phase::closed;
    shut("STARTTLS refused");
    return;
  }
  write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  pump->start_tls(ctx->tls->find(local));
  tls()->request_peer_certificate(cfg->trust->store());
  header_sent = false;
  ph = phase::header;
}

void in_state::authenticated(const std::string& domain,
                             const std::string& ours, const char* how) {
  pairs.emplace(domain, ours);
  spdlog::info("s2s in {} <- {}: authenticated ({}, {})", ours, domain, how,
               tls() ? tls()->version() : std::string{"no TLS"});
  self->send(ctx->s2s, stream_up{true, ours, domain, how, tls() != nullptr});
}

void in_state::on_sasl(const xml::element& e) {
  auto failure = [this](const char* cond) {
    write(std::string{"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><"}
          + cond + "/></failure>");
  };
  if (e.name != "auth" || sasl_done) {
    fail("policy-violation", "unexpected SASL element");
    return;
  }
  if (e.attr_or("mechanism") != "EXTERNAL") {
    failure("invalid-mechanism");
    return;
  }
  // XEP-0178 §2: the authorization identity is the peer's domain, or
  // empty ("=") to mean the stream header's `from`.
  auto text = e.text();
  std::string authzid;
  if (!text.empty() && text != "=") {
    auto decoded = base64::decode(text);
    if (!decoded) {
      failure("incorrect-encoding");
      return;
    }
    authzid = *decoded;
  }
  auto domain = authzid.empty() ? peer : authzid;
  if (domain.empty() || (!peer.empty() && domain != peer)) {
    failure("invalid-authzid");
    return;
  }
  if (!tls() || !tls()->peer_valid_for(domain)) {
    spdlog::info("s2s in {} <- {}: EXTERNAL refused: {}", local, domain,
                 tls() ? tls()->peer_problem(domain) : std::string{"no TLS"});
    failure("not-authorized");
    return;
  }
  write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  sasl_done = true;
  peer = domain;
  authenticated(domain, local, "EXTERNAL");
  pump->restart(); // RFC 6120 §6.4.6: the stream restarts
  header_sent = false;
  ph = phase::header;
}

void in_state::on_db_result(const xml::element& e) {
  auto from = jid::parse(e.attr_or("from"));
  auto to = jid::parse(e.attr_or("to"));
  if (!to || ctx->find_vhost(to->domain()) == nullptr) {
    fail("host-unknown"); // XEP-0220 §2.4.1 / RFC 6120 §4.9.3.6
    return;
  }
  if (!from || !from->local().empty() || !from->is_bare()) {
    fail("invalid-from");
    return;
  }
  auto remote = from->domain();
  auto ours = to->domain();
  if (ctx->find_vhost(remote) != nullptr) {
    fail("invalid-from", remote + " is served here"); // nobody else is us
    return;
  }
  auto reply = [this, remote, ours](const char* type, const char* cond) {
    xml::element db{"result", ns_dialback};
    db.set_attr("from", ours).set_attr("to", remote).set_attr("type", type);
    if (cond != nullptr)
      db.add_child(xml::element{"error", ns_dialback})
        .set_attr("type", "cancel")
        .add_child(xml::element{cond, ns::stanzas_err});
    write(to_wire(db));
  };
  if (cfg->require_certificate.count(remote) != 0) {
    spdlog::info("s2s in {} <- {}: dialback refused (certificate required)",
                 ours, remote);
    reply("error", "policy-violation");
    return;
  }
  ++verifies_pending;
  auto id = stream_id;
  self
    ->request(ctx->s2s, cfg->handshake_timeout,
              verify_request{ours, remote, id, e.text()})
    .then(
      [this, remote, ours, reply](bool valid) {
        --verifies_pending;
        if (ph == phase::closed)
          return;
        if (valid) {
          reply("valid", nullptr);
          authenticated(remote, ours, "dialback");
        } else {
          spdlog::info("s2s in {} <- {}: dialback key invalid", ours, remote);
          reply("invalid", nullptr);
        }
      },
      [this, remote, ours, reply](caf::error& err) {
        --verifies_pending;
        if (ph == phase::closed)
          return;
        spdlog::info("s2s in {} <- {}: dialback verify failed: {}", ours,
                     remote, self->system().render(err));
        reply("error", "remote-server-not-found");
      });
}

void in_state::on_db_verify(const xml::element& e) {
  auto from = e.attr_or("from");
  auto to = jid::parse(e.attr_or("to"));
  if (!to || ctx->find_vhost(to->domain()) == nullptr) {
    fail("host-unknown");
    return;
  }
  auto id = e.attr_or("id");
  // We are the authoritative server for `to`: was this key ours, for a
  // stream `from` gave us id `id`?
  auto expected = dialback_key(cfg->dialback_secret, from, to->domain(), id);
  bool valid = !id.empty() && crypto::equal(expected, e.text());
  xml::element db{"verify", ns_dialback};
  db.set_attr("from", to->domain()).set_attr("to", from).set_attr("id", id);
  db.set_attr("type", valid ? "valid" : "invalid");
  write(to_wire(db));
  spdlog::info("s2s in {} <- {}: dialback verify for stream {}: {}",
               to->domain(), from, id, valid ? "valid" : "invalid");
}

} // namespace dja::s2s
