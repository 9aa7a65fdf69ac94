// Which SASL mechanisms a connection offers (RFC 6120 §6.3.3), and where
// SCRAM-*-PLUS with channel binding (RFC 5802 §6; tls-exporter RFC 9266,
// tls-unique and tls-server-end-point RFC 5929) is among them: the
// listener's sasl_channel_binding mode and the TLS session decide.

#include <algorithm>

#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

std::string
connection_state::unavailable_cb_text(const std::string& type) const {
  if (!tls())
    return "no channel binding without TLS";
  std::string offered;
  for (auto t : tls()->channel_binding_types())
    offered += (offered.empty() ? "" : ", ") + std::string{t};
  // RFC 9266 §1 (RFC 8446 §C.5): tls-unique does not exist on TLS 1.3.
  std::string why = type == "tls-unique" && tls()->version() == "TLSv1.3"
                      ? " (undefined on TLS 1.3, RFC 9266)"
                      : "";
  return "unsupported-channel-binding-type: " + type + why + "; available: "
         + offered;
}

std::vector<std::string> connection_state::offered_mechanisms() const {
  // Strongest first (RFC 6120 §6.3.3 leaves the order to the server).
  std::vector<std::string> out;
  // A vhost whose passwords are only checkable (an `external` program)
  // has no SCRAM credentials: PLAIN only (decided and logged at start).
  if (vhost != nullptr && vhost->serves<hooks::auth_check_password>()
      && !vhost->serves<hooks::auth_get_scram>()) {
    if (plain_allowed())
      out.emplace_back("PLAIN");
    return out;
  }
  if (plus_enabled()) {
    out.emplace_back("SCRAM-SHA-256-PLUS");
    out.emplace_back("SCRAM-SHA-1-PLUS");
  }
  out.emplace_back("SCRAM-SHA-256");
  out.emplace_back("SCRAM-SHA-1");
  if (plain_allowed())
    out.emplace_back("PLAIN");
  return out;
}

bool connection_state::plus_enabled() const {
  using mode = listener_options::plus_mode;
  if (!tls() || opts.sasl_channel_binding == mode::off
      || tls()->channel_binding_types().empty())
    return false;
  // "tls1.2": not on TLS 1.3, where Debian's Python clients ask for
  // tls-unique first (server/config.hpp, sasl_channel_binding).
  return opts.sasl_channel_binding == mode::always
         || tls()->version() != "TLSv1.3";
}

bool connection_state::plus_offered() const {
  auto m = offered_mechanisms();
  return std::find(m.begin(), m.end(), "SCRAM-SHA-256-PLUS") != m.end();
}

} // namespace dja
