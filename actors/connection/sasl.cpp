// SASL (RFC 6120 §6) on a connection: SCRAM-SHA-256(-PLUS) and
// SCRAM-SHA-1(-PLUS) (RFC 5802, RFC 7677, channel binding RFC 9266 /
// RFC 5929) and PLAIN (RFC 4616, only over TLS unless allowed), with the
// brute-force throttle; and XEP-0077 registration before authentication.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

namespace {

/// RFC 6120 §6.4.5: allow retries on one stream, but not forever.
constexpr int max_sasl_failures = 5;

constexpr const char* register_ns = "jabber:iq:register";

std::string trimmed(std::string s) {
  auto ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

/// The channel-binding type a SCRAM client-first-message asks for
/// ("p=tls-exporter,..."), or "".
std::string requested_cb_type(std::string_view first) {
  if (first.substr(0, 2) != "p=")
    return {};
  auto comma = first.find(',');
  return std::string{first.substr(2, comma == std::string_view::npos
                                       ? std::string_view::npos
                                       : comma - 2)};
}

} // namespace

std::vector<std::string> connection_state::offered_mechanisms() const {
  // Strongest first (RFC 6120 §6.3.3 leaves the order to the server).
  std::vector<std::string> out;
  if (tls() && opts.sasl_channel_binding
      && (!tls()->channel_binding("tls-exporter").empty()
              || !tls()->channel_binding("tls-server-end-point").empty())) {
    out.emplace_back("SCRAM-SHA-256-PLUS");
    out.emplace_back("SCRAM-SHA-1-PLUS");
  }
  out.emplace_back("SCRAM-SHA-256");
  out.emplace_back("SCRAM-SHA-1");
  if (plain_allowed())
    out.emplace_back("PLAIN");
  return out;
}

bool connection_state::plus_offered() const {
  auto m = offered_mechanisms();
  return std::find(m.begin(), m.end(), "SCRAM-SHA-256-PLUS") != m.end();
}

void connection_state::on_sasl(const xml::element& e) {
  if (e.name == "auth") {
    plain_needs_response = false;
    scram.reset();
    auto mech = e.attr_or("mechanism");
    auto offered = offered_mechanisms();
    if (std::find(offered.begin(), offered.end(), mech) == offered.end()) {
      // RFC 6120 §6.5.4: PLAIN needs TLS here.
      sasl_failure(mech == "PLAIN" ? "encryption-required"
                                   : "invalid-mechanism");
      return;
    }
    if (!ctx->throttle->allowed(remote)) {
      spdlog::warn("authentication from {} refused: too many failures",
                   remote);
      write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            "<temporary-auth-failure/></failure>");
      return;
    }
    sasl_mech = mech;
    auto data = trimmed(e.text());
    if (mech == "PLAIN") {
      if (data.empty()) {
        // RFC 6120 §6.4.2: no initial response; send an empty challenge.
        plain_needs_response = true;
        write("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        return;
      }
      sasl_plain(data);
      return;
    }
    scram_start(mech, data);
  } else if (e.name == "response" && plain_needs_response) {
    plain_needs_response = false;
    sasl_plain(trimmed(e.text()));
  } else if (e.name == "response" && scram) {
    scram_response(trimmed(e.text()));
  } else if (e.name == "abort") {
    plain_needs_response = false;
    scram.reset();
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/>"
          "</failure>");
  } else {
    plain_needs_response = false;
    scram.reset();
    sasl_failure("malformed-request");
  }
}

void connection_state::sasl_plain(const std::string& b64) {
  // "=" is an empty response (RFC 6120 §6.4.2).
  auto decoded = b64 == "=" ? std::optional<std::string>{std::string{}}
                            : base64::decode(b64);
  if (!decoded) {
    sasl_failure("incorrect-encoding");
    return;
  }
  // RFC 4616 §2: [authzid] NUL authcid NUL passwd
  auto& msg = *decoded;
  auto p1 = msg.find('\0');
  auto p2 = p1 == std::string::npos ? p1 : msg.find('\0', p1 + 1);
  if (p2 == std::string::npos || msg.find('\0', p2 + 1) != std::string::npos) {
    sasl_failure("malformed-request");
    return;
  }
  auto authzid = msg.substr(0, p1);
  auto authcid = msg.substr(p1 + 1, p2 - p1 - 1);
  auto password = msg.substr(p2 + 1);
  if (authcid.empty() || password.empty()) {
    sasl_failure(authcid.empty() ? "malformed-request" : "not-authorized");
    return;
  }
  auto who = user_for(authcid);
  if (!who) {
    auth_failed(authcid);
    return;
  }
  if (!authzid_ok(authzid, *who))
    return;
  pump->pause();
  auto user_jid = *who;
  self
    ->request(vhost->actor, std::chrono::seconds(120),
              hooks::auth_check_password{user_jid, std::move(password),
                                         remote})
    .then(
      [this, user_jid](bool ok) {
        if (ph == phase::closed)
          return;
        if (ok)
          sasl_success(user_jid, {});
        else
          auth_failed(user_jid.str());
        resume();
      },
      [this](caf::error& err) {
        if (ph == phase::closed)
          return;
        spdlog::warn("authentication unavailable for {}:{}: {}", remote,
                     remote_port, caf::to_string(err));
        sasl_failure("temporary-auth-failure");
        resume();
      });
}

void connection_state::scram_start(const std::string& mech,
                                   const std::string& b64) {
  auto m = scram::parse_mechanism(mech);
  auto first = b64.empty() ? std::optional<std::string>{} : base64::decode(b64);
  if (!m || !first) {
    sasl_failure(b64.empty() ? "malformed-request" : "incorrect-encoding");
    return;
  }
  std::string cb_type;
  std::string cb_data;
  if (tls()) {
    cb_type = requested_cb_type(*first);
    if (cb_type.empty())
      cb_type = "tls-exporter";
    cb_data = tls()->channel_binding(cb_type);
    if (cb_data.empty())
      cb_type.clear();
  }
  // COMPAT(slixmpp 1.8): it asks for tls-unique (undefined on TLS 1.3),
  // then retries without channel binding, flag 'y'. Having tried and
  // found no common type, that 'y' is no downgrade attack.
  scram = std::make_unique<scram::server_exchange>(
    m->hash, m->plus, cb_type, cb_data, plus_offered() && !cb_type_mismatch);
  auto step = scram->client_first(*first);
  if (step.reason == "unsupported-channel-binding-type")
    cb_type_mismatch = true;
  if (step.kind != scram::server_exchange::step::need_credentials) {
    spdlog::info("SCRAM from {}:{} refused: {}", remote, remote_port,
                 step.reason);
    scram.reset();
    sasl_failure(step.data.c_str());
    return;
  }
  auto who = user_for(scram->username());
  if (who && !authzid_ok(scram->authzid(), *who)) {
    scram.reset();
    return;
  }
  if (!who) {
    // Unknown or invalid name: go on with fake credentials (the exchange
    // fails at the proof; the client learns nothing about the user).
    scram_challenge(hooks::scram_credentials{});
    return;
  }
  scram_user = *who;
  pump->pause();
  self
    ->request(vhost->actor, std::chrono::seconds(120),
              hooks::auth_get_scram{*who, crypto::name(m->hash)})
    .then(
      [this](hooks::scram_credentials& creds) {
        if (ph == phase::closed || !scram)
          return;
        scram_challenge(creds);
        resume();
      },
      [this](caf::error& err) {
        if (ph == phase::closed)
          return;
        spdlog::warn("authentication unavailable for {}:{}: {}", remote,
                     remote_port, caf::to_string(err));
        scram.reset();
        sasl_failure("temporary-auth-failure");
        resume();
      });
}

void connection_state::scram_challenge(const hooks::scram_credentials& c) {
  auto step = scram->credentials(c);
  if (step.kind != scram::server_exchange::step::challenge) {
    scram.reset();
    sasl_failure(step.data.c_str());
    return;
  }
  write("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        + base64::encode(step.data) + "</challenge>");
}

void connection_state::scram_response(const std::string& b64) {
  auto final_msg = base64::decode(b64);
  if (!final_msg) {
    scram.reset();
    sasl_failure("incorrect-encoding");
    return;
  }
  auto step = scram->client_final(*final_msg);
  auto who = scram_user;
  auto name = scram->username();
  scram.reset();
  if (step.kind == scram::server_exchange::step::success && !who.empty()) {
    sasl_success(who, base64::encode(step.data));
    return;
  }
  spdlog::info("SCRAM from {}:{} failed: {}", remote, remote_port,
               step.reason);
  auth_failed(who.empty() ? name : who.str());
}

std::optional<jid> connection_state::user_for(const std::string& name) const {
  auto local = jid::prep_local(name);
  if (!local)
    return std::nullopt;
  return jid::make(*local, vhost->domain);
}

bool connection_state::authzid_ok(const std::string& authzid, const jid& who) {
  if (authzid.empty())
    return true;
  // Only the own identity may be requested (no proxy authorization).
  auto z = jid::parse(authzid);
  if (z && *z == who)
    return true;
  sasl_failure("invalid-authzid");
  return false;
}

void connection_state::auth_failed(const std::string& who) {
  spdlog::info("authentication failed for {} from {}:{}", who, remote,
               remote_port);
  if (ctx->throttle->failed(remote))
    spdlog::warn("{}: too many failed authentications; refusing it for a "
                 "while", remote);
  sasl_failure("not-authorized");
}

void connection_state::sasl_failure(const char* condition) {
  std::string out = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><";
  out += condition;
  out += "/></failure>";
  write(out);
  if (++sasl_failures >= max_sasl_failures)
    fail("policy-violation", "too many failed authentication attempts");
}

void connection_state::sasl_success(const jid& who,
                                    const std::string& additional) {
  if (additional.empty())
    write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  else
    write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + additional
          + "</success>");
  ctx->throttle->succeeded(remote);
  spdlog::info("authenticated {}:{} as {} ({}{})", remote, remote_port,
               who.str(), sasl_mech, tls() ? ", " + tls()->version() : "");
  authenticated = true;
  user = who;
  // RFC 6120 §6.4.6: the client restarts the stream.
  pump->restart();
  header_sent = false;
  ph = phase::header;
}

bool connection_state::preauth_register(const xml::element_ptr& e) {
  // XEP-0077 §3: registration on a stream that is not authenticated,
  // only when the vhost offers it (the `register` plugin).
  if (!vhost->inband_registration || e->name != "iq" || e->ns != ns::client)
    return false;
  auto q = e->first_element();
  if (q == nullptr || q->ns != register_ns)
    return false;
  auto type = e->attr_or("type");
  if (type != "get" && type != "set")
    return true; // results and errors: nothing to answer
  if (e->attr("id") == nullptr) {
    write(*errors::stanza_error(*e, "bad-request"));
    return true;
  }
  auto stanza = std::make_shared<xml::element>(*e);
  stanza->remove_attr("from");
  stanza->set_attr("to", vhost->domain);
  pump->pause();
  self
    ->request(vhost->actor, std::chrono::seconds(120),
              hooks::iq_request{stanza, jid{}, *jid::make("", vhost->domain)})
    .then(
      [this](xml::element_ptr& reply) {
        if (ph == phase::closed)
          return;
        auto out = std::make_shared<xml::element>(*reply);
        out->remove_attr("to");
        write(*out);
        resume();
      },
      [this, stanza](caf::error&) {
        if (ph == phase::closed)
          return;
        write(*errors::stanza_error(*stanza, "internal-server-error"));
        resume();
      });
  return true;
}

} // namespace dja
