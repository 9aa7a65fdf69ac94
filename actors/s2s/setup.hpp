#pragma once

// Turns the federation part of the configuration into running s2s
// actors: settings, dialback secret, TLS trust, the manager, and the
// router's s2s stage.

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "common/server_context.hpp"
#include "stream/tls.hpp"
#include "server/config.hpp"

namespace dja::s2s {

/// True when the configuration has an s2s listener (federation on).
bool enabled(const config::server_cfg& cfg);

/// Sets ctx.s2s_settings and ctx.s2s (after the router is spawned);
/// false with `error` set when something cannot be loaded.
bool start(caf::actor_system& sys, const std::shared_ptr<server_context>& ctx,
           const config::server_cfg& cfg,
           const std::vector<tls::identity>& ids, std::string& error);

} // namespace dja::s2s
