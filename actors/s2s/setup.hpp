#pragma once

// Turns the federation settings (filled in from the configuration by
// actors/server) into running s2s actors: dialback secret, TLS trust, the
// manager, and the router's s2s stage.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "common/server_context.hpp"
#include "s2s/settings.hpp"
#include "stream/tls.hpp"

namespace dja::s2s {

/// What start() needs besides the settings.
struct start_options {
  /// Where the dialback secret is kept when the settings have none.
  std::string data_dir;
  std::string ca_file; ///< PEM CA(s) trusted besides the system's
  std::string tls_ciphers;      ///< TLS 1.2 cipher list ("" = OpenSSL's)
  std::string tls_ciphersuites; ///< TLS 1.3 suites ("" = OpenSSL's)
};

/// Completes `st` (dialback secret, TLS trust), sets ctx.s2s_settings and
/// ctx.s2s (after the router is spawned); false with `error` set when
/// something cannot be loaded.
bool start(caf::actor_system& sys, const std::shared_ptr<server_context>& ctx,
           settings st, const start_options& opts,
           const std::vector<tls::identity>& ids, std::string& error);

} // namespace dja::s2s
