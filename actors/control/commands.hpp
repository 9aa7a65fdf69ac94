#pragma once

// The commands of the control channel (control.hpp), one table: its
// name, arguments, one line of help and the function that answers it.
//
//   status                 uptime, vhosts, connections, sessions
//   invalidate JID|DOMAIN|--all
//                          the plugins that cache user data of an outside
//                          source (sql, http, ldap: `cache.invalidate` in
//                          actors/hooks/catalogue.hpp) forget it and push
//                          changed rosters to the users online
//   reload                 recognised; re-reading the configuration
//                          without a restart is not implemented yet
//   metrics                the Prometheus text exposition of the
//                          metrics actor (actors/metrics, what GET
//                          /metrics serves)
//   help                   the commands
//
// A new command is one row of the table (commands.cpp).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "common/server_context.hpp"
#include "control/protocol.hpp"

namespace dja::control {

/// What the commands see of the running server.
struct server_view {
  caf::actor_system* sys = nullptr;
  context_ptr ctx;
  std::vector<caf::actor> listeners;
  std::string config_file;
  std::chrono::steady_clock::time_point started;
};

/// Answers `req`; called on the control socket's thread (it may wait
/// for actors, each wait bounded).
response run_command(const request& req, const server_view& server);

/// The help text: one line per command.
std::string help_text();

} // namespace dja::control
