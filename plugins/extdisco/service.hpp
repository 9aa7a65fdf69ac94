#pragma once

// XEP-0215 External Service Discovery: the configured services (STUN and
// TURN servers, written as RFC 7064 / RFC 7065 URIs), their <service/>
// elements (§2), and the time-limited TURN credentials of the "TURN REST
// API" that coturn checks with `use-auth-secret`: username =
// EXPIRY[:USER], password = base64(HMAC-SHA1(secret, username)).

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/xml.hpp"

namespace dja::plugins::extdisco {

/// XEP-0215 §1 (version 1.0 of the protocol).
constexpr const char* ns_extdisco = "urn:xmpp:extdisco:2";

/// One external service, the attributes of its <service/> (XEP-0215 §2).
struct service {
  std::string type;      ///< "stun", "stuns", "turn", "turns"
  std::string host;      ///< a DNS name or an IP address (no brackets)
  uint16_t port = 0;     ///< RFC 7064/7065 defaults: 3478, 5349 with TLS
  std::string transport; ///< "udp" or "tcp"
  /// Credentials needed (XEP-0215 §2 `restricted`): by default a TURN
  /// server is restricted (an open relay is abused), a STUN one is not.
  bool restricted = false;
};

/// Parses "SCHEME:HOST[:PORT][?QUERY]" with SCHEME stun, stuns, turn or
/// turns (RFC 7064 §3.1, RFC 7065 §3.1; an IPv6 HOST in brackets) and the
/// QUERY keys `transport=udp|tcp` (RFC 7065) and `restricted=true|false`
/// (this server's, for XEP-0215's attribute). The service, or what was
/// expected.
std::variant<service, std::string> parse_service(std::string_view uri);

/// Time-limited credentials of a restricted service.
struct credentials {
  std::string username;
  std::string password;
  std::time_t expires = 0;
};

/// The TURN REST API credentials valid until `now + ttl` seconds:
/// username "EXPIRY" or "EXPIRY:USER" (USER empty: without the colon),
/// password base64(HMAC-SHA1(secret, username)), the form coturn accepts
/// with `use-auth-secret` and `static-auth-secret = secret`.
credentials make_credentials(std::string_view secret, std::time_t now,
                             int64_t ttl, std::string_view user);

/// The <service/> element of `s` (namespace urn:xmpp:extdisco:2), with
/// `username`, `password` and `expires` (XEP-0082 DateTime) when
/// credentials are given.
xml::element service_element(const service& s,
                             const std::optional<credentials>& c);

} // namespace dja::plugins::extdisco
