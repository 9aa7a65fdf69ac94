// SASL (RFC 6120 §6) on a connection: the PLAIN mechanism (RFC 4616).
// SCRAM and -PLUS variants slot in here with the TLS issue.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/namespaces.hpp"
#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

namespace {

/// RFC 6120 §6.4.5: allow retries, but not forever.
constexpr int max_sasl_failures = 5;

std::string trimmed(std::string s) {
  auto ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

} // namespace

void connection_state::on_sasl(const xml::element& e) {
  if (e.name == "auth") {
    if (e.attr_or("mechanism") != "PLAIN") {
      sasl_failure("invalid-mechanism");
      return;
    }
    auto data = trimmed(e.text());
    if (data.empty()) {
      // RFC 6120 §6.4.2: no initial response; send an empty challenge.
      plain_needs_response = true;
      write("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      return;
    }
    sasl_plain(data);
  } else if (e.name == "response" && plain_needs_response) {
    plain_needs_response = false;
    sasl_plain(trimmed(e.text()));
  } else if (e.name == "abort") {
    plain_needs_response = false;
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/>"
          "</failure>");
  } else {
    plain_needs_response = false;
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
  auto local = jid::prep_local(authcid);
  if (!local) {
    sasl_failure("not-authorized");
    return;
  }
  auto who = jid::make(*local, vhost->domain);
  if (!who) {
    sasl_failure("not-authorized");
    return;
  }
  if (!authzid.empty()) {
    // Only the own identity may be requested (no proxy authorization).
    auto z = jid::parse(authzid);
    if (!z || *z != *who) {
      sasl_failure("invalid-authzid");
      return;
    }
  }
  busy = true;
  auto user_jid = *who;
  self
    ->request(vhost->actor, std::chrono::seconds(120),
              hooks::auth_check_password{user_jid, std::move(password),
                                         remote})
    .then(
      [this, user_jid](bool ok) {
        if (ph == phase::closed)
          return;
        if (ok) {
          sasl_success(user_jid);
        } else {
          spdlog::info("authentication failed for {} from {}:{}",
                       user_jid.str(), remote, remote_port);
          sasl_failure("not-authorized");
        }
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

void connection_state::sasl_failure(const char* condition) {
  std::string out = "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><";
  out += condition;
  out += "/></failure>";
  write(out);
  if (++sasl_failures >= max_sasl_failures)
    fail("policy-violation", "too many failed authentication attempts");
}

void connection_state::sasl_success(const jid& who) {
  write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  spdlog::info("authenticated {}:{} as {}", remote, remote_port, who.str());
  authenticated = true;
  user = who;
  // RFC 6120 §6.4.6: the client restarts the stream.
  parser->reset();
  backlog.clear();
  header_sent = false;
  ph = phase::header;
}

} // namespace dja
