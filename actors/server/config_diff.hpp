#pragma once

// What changed between two validated configurations, for a reload
// (server/reload.hpp): which changes a running server applies and which
// wait for a restart. Pure functions of the two configurations, so the
// decision is unit-tested (tests/server/config_diff_test.cpp).
//
// Applied by a reload (to the connections accepted from then on; the
// open ones keep what they started with):
//   server.log_level, negotiation_timeout, max_stanza_size,
//   tls_ciphers, tls_ciphersuites, every [limits] key, vhosts added,
//   removed or changed (plugins, default_plugins, correct_forged_from,
//   tls_cert, tls_key) and the certificate files' contents.
// Kept until a restart (reported, the old value stays in force):
//   [[listen]], data_dir, log_file, control_socket, plugin_dirs,
//   shutdown_timeout, auth_fail_*, auth_delay_max, every s2s_* key and
//   [[s2s_route]], [cluster].

#include <string>
#include <vector>

#include "server/config.hpp"

namespace dja::config {

struct config_diff {
  bool log_level = false;
  /// Connection settings outside [limits] (negotiation_timeout,
  /// max_stanza_size, tls_ciphers, tls_ciphersuites), by key.
  std::vector<std::string> server_keys;
  /// [limits] keys whose value changed, as "limits.KEY".
  std::vector<std::string> limits;
  std::vector<std::string> vhosts_added;
  std::vector<std::string> vhosts_removed;
  /// Vhosts in both whose plugin chain or settings differ (a new chain).
  std::vector<std::string> vhosts_changed;
  /// Vhosts in both, unchanged but for tls_cert or tls_key (a new
  /// certificate, the same plugins).
  std::vector<std::string> certificate_paths;
  /// Keys that changed but need a restart (their old value stays).
  std::vector<std::string> restart;

  /// Nothing a reload would apply (restart may still list keys).
  bool nothing_to_apply() const;
};

/// The differences of `after` from `before`.
config_diff diff(const server_cfg& before, const server_cfg& after);

/// What runs after a reload: `after`, but with every key that needs a
/// restart as in `before`.
server_cfg applicable(const server_cfg& before, const server_cfg& after);

/// The [limits] keys whose values differ, as "limits.KEY".
std::vector<std::string> changed_limits(const dja::limits& a,
                                        const dja::limits& b);

/// Two vhost blocks give the same plugin chain and settings (the
/// certificate aside).
bool same_chain(const vhost_cfg& a, const vhost_cfg& b);

} // namespace dja::config
