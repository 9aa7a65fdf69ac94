// SASL (RFC 6120 §6) on a connection: SCRAM-SHA-256(-PLUS) and
// SCRAM-SHA-1(-PLUS) (RFC 5802, RFC 7677; channel binding tls-exporter
// RFC 9266, tls-unique and tls-server-end-point RFC 5929, advertised per
// XEP-0440) and PLAIN (RFC 4616, only over TLS unless allowed), with the
// brute-force throttle; and XEP-0077 registration before authentication.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/errors.hpp"
#include "common/login_throttle.hpp"
#include "common/namespaces.hpp"
#include "common/sasl_plain.hpp"
#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

namespace {

/// The node's login throttle, or null (none installed: unit tests).
login_throttle* throttle_of(const server_context& ctx) {
  return ctx.throttle.get();
}

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

void connection_state::on_sasl(const xml::element& e) {
  if (e.name == "auth") {
    plain_needs_response = false;
    scram.reset();
    sasl_cb.clear();
    auto mech = e.attr_or("mechanism");
    auto offered = offered_mechanisms();
    if (std::find(offered.begin(), offered.end(), mech) == offered.end()) {
      // RFC 6120 §6.5.4: PLAIN needs TLS here.
      sasl_failure(mech == "PLAIN" ? "encryption-required"
                                   : "invalid-mechanism");
      return;
    }
    if (auto t = throttle_of(*ctx); t != nullptr && !t->allowed(remote)) {
      // Its answers are queued a minute ahead already. Counts toward
      // this stream's retries: a refused stream may not retry forever.
      spdlog::warn("authentication from {}:{} refused: too many failures",
                   remote, remote_port);
      sasl_failure("temporary-auth-failure");
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
  auto plain = dja::sasl_plain::decode(b64);
  if (!plain.msg) {
    sasl_failure(plain.condition);
    return;
  }
  auto& authzid = plain.msg->authzid;
  auto& authcid = plain.msg->authcid;
  auto& password = plain.msg->password;
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
        auto now = ok ? answer_auth(user_jid.str(),
                                    [this, user_jid] {
                                      sasl_success(user_jid, {});
                                    })
                      : auth_failed(user_jid.str());
        if (now)
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
  // The type the client asks for ("p=..."), if this connection has it.
  auto cb_type = requested_cb_type(*first);
  auto cb_data = tls() && !cb_type.empty() ? tls()->channel_binding(cb_type)
                                           : std::string{};
  // COMPAT(slixmpp 1.8, python3-nbxmpp's tls-unique): Python clients ask
  // for tls-unique on TLS 1.3 too, where it is undefined (RFC 9266 §1),
  // then retry without channel binding, flag 'y'. Having tried on this
  // stream and found no common type, that 'y' is no downgrade attack.
  scram = std::make_unique<scram::server_exchange>(
    m->hash, m->plus, cb_data.empty() ? std::string{} : cb_type, cb_data,
    plus_offered() && !cb_type_mismatch);
  auto step = scram->client_first(*first);
  if (step.kind != scram::server_exchange::step::need_credentials) {
    std::string text;
    if (step.reason == "unsupported-channel-binding-type") {
      cb_type_mismatch = true;
      text = unavailable_cb_text(cb_type);
    }
    spdlog::info("SCRAM from {}:{} refused: {}", remote, remote_port,
                 text.empty() ? step.reason : text);
    scram.reset();
    sasl_failure(step.data.c_str(), text);
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
  sasl_cb = scram->channel_bound() ? scram->cb_type() : std::string{};
  scram.reset();
  if (step.kind == scram::server_exchange::step::success && !who.empty()) {
    answer_auth(who.str(), [this, who, data = base64::encode(step.data)] {
      sasl_success(who, data);
    });
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

bool connection_state::auth_failed(const std::string& who) {
  spdlog::info("authentication failed for {} from {}:{}", who, remote,
               remote_port);
  auto account = who.find('@') == std::string::npos
                   ? who + '@' + vhost->domain
                   : who;
  auto now = answer_auth(account, [this] { sasl_failure("not-authorized"); });
  if (auto t = throttle_of(*ctx); t != nullptr && t->failed(remote, account))
    spdlog::warn("too many failed authentications from {} or for {}: "
                 "answers to them are delayed from now on",
                 remote, account);
  return now;
}

bool connection_state::answer_auth(const std::string& account,
                                   std::function<void()> answer) {
  auto t = throttle_of(*ctx);
  auto delay = t != nullptr ? t->answer_delay(remote, account)
                            : login_throttle::duration::zero();
  if (delay <= login_throttle::duration::zero()) {
    answer();
    return true;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay);
  spdlog::info("authentication of {} from {}:{} answered in {} ms "
               "(brute-force throttle)",
               account, remote, remote_port, ms.count());
  pump->pause();
  held_answer = std::move(answer);
  self->delayed_send(self, delay, throttle_atom::value);
  return false;
}

void connection_state::on_throttle_timer() {
  if (ph == phase::closed || !held_answer)
    return;
  auto answer = std::move(held_answer);
  held_answer = nullptr;
  answer();
  if (ph != phase::closed)
    resume();
}

void connection_state::sasl_failure(const char* condition,
                                    std::string_view text) {
  std::string out = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><";
  out += condition;
  out += "/>";
  if (!text.empty()) {
    out += "<text xml:lang='en'>";
    out += xml::escape(text);
    out += "</text>";
  }
  out += "</failure>";
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
  if (auto t = throttle_of(*ctx))
    t->succeeded(who.bare().str());
  // Mechanism, channel-binding type (-PLUS only) and TLS version: which
  // of them a client really uses shows here (tests/e2e/test_plus_*.py).
  spdlog::info("authenticated {}:{} as {} ({}{}{})", remote, remote_port,
               who.str(), sasl_mech,
               sasl_cb.empty() ? "" : ", channel binding " + sasl_cb,
               tls() ? ", " + tls()->version() : "");
  authenticated = true;
  user = who;
  // RFC 6120 §6.4.6: the client restarts the stream, now with the full
  // stanza size (strangers had limits.preauth_stanza_size).
  pump->restart();
  pump->set_stanza_size(ctx->limits.c2s_stanza_size);
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
  // `from` is the client's address (an IP literal is a valid JID), for
  // per-address limits (the register plugin's registration_interval);
  // the reply's `to` is removed below.
  stanza->set_attr("from", remote);
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
