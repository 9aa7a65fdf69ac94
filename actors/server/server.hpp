#pragma once

// Wiring: turns a validated configuration into running actors (vhosts and
// their plugins, router shards, listeners) and runs until SIGTERM/SIGINT.

#include <memory>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "vhost/vhost.hpp"

namespace dja {

/// The plugin instances of one vhost, in config order; `router` is where
/// they route stanzas of their own (spawn_context::router).
std::vector<plugin_instance>
make_plugins(const config::vhost_cfg& vhost, const std::string& data_dir,
             std::shared_ptr<const router_ref> router = nullptr);

/// Runs the server; returns the process exit code (0 after a graceful
/// shutdown, 1 when it could not start, e.g. a port already in use).
int run_server(const config::server_cfg& cfg);

} // namespace dja
