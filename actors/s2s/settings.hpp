#pragma once

// What the server-to-server actors share: the federation settings from
// the configuration, the dialback secret and the TLS trust. Built once at
// start-up, immutable afterwards.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace dja::tls {
class peer_trust;
} // namespace dja::tls

namespace dja::s2s {

/// A `[[s2s_route]]`: where a remote domain's server is, without DNS.
struct route {
  std::string host; ///< an address or a host name
  uint16_t port = 5269;
};

struct settings {
  /// STARTTLS on every s2s stream (RFC 6120 §5.3.1, `s2s_tls`): refuse
  /// streams in both directions without it; false: use it when offered.
  bool tls_required = true;
  /// Domains whose streams must authenticate by certificate (SASL
  /// EXTERNAL, XEP-0178): never dialback for them.
  std::set<std::string> require_certificate;
  /// XEP-0220 §2.4: the secret dialback keys are derived from.
  std::string dialback_secret;
  std::chrono::seconds idle_timeout{300};
  /// TCP connect to one address of the peer.
  std::chrono::seconds connect_timeout{10};
  /// From the start of an outgoing stream until it is authenticated (and
  /// for an incoming stream until its first authenticated domain).
  std::chrono::seconds handshake_timeout{30};
  /// Static routes (config) by remote domain; others are looked up in
  /// DNS (RFC 6120 §3.2).
  std::map<std::string, route> routes;
  std::shared_ptr<tls::peer_trust> trust; ///< null: no TLS possible
};

using settings_ptr = std::shared_ptr<const settings>;

} // namespace dja::s2s
