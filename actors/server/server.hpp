#pragma once

// Wiring: turns a validated configuration into running actors (vhosts and
// their plugins, router shards, listeners) and runs until SIGTERM/SIGINT.

#include <string>
#include <vector>

#include "server/config.hpp"
#include "vhost/vhost.hpp"

namespace dja {

/// The plugin instances of one vhost, in config order.
std::vector<plugin_instance> make_plugins(const config::vhost_cfg& vhost,
                                          const std::string& data_dir);

/// Runs the server; returns the process exit code (0 after a graceful
/// shutdown, 1 when it could not start, e.g. a port already in use).
int run_server(const config::server_cfg& cfg);

} // namespace dja
