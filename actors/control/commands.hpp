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
//   stats                  connections by kind, sessions, uptime, memory
//   sessions [VHOST]       the bound resources: JID, address, since, TLS,
//                          stream management
//   kick JID [REASON...]   ends a session (a bare JID: every resource)
//                          with the stream error <policy-violation/>
//   roster show JID        the roster of an account, from its vhost
//   broadcast VHOST TEXT...
//                          a headline message from the vhost to every
//                          session there
//   reload                 re-read the configuration (server/reload.hpp)
//   metrics                the Prometheus text exposition of the
//                          metrics actor (actors/metrics, what GET
//                          /metrics serves)
//   help                   the commands
//
// A new command is one row of the table (commands.cpp).

#include <chrono>
#include <functional>
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
  std::vector<std::string> listener_kinds; ///< of `listeners`, in order
  std::string config_file;
  std::chrono::steady_clock::time_point started;
  /// The context of new connections (a reload replaces it); null: `ctx`.
  std::function<context_ptr()> current;
  /// Reloads the configuration (null: not possible).
  std::function<response()> reload;

  /// current() if set, else ctx.
  context_ptr context() const {
    return current ? current() : ctx;
  }
};

/// Users online and sessions bound on this node, asked of every router
/// shard (each wait bounded); `all` false when a shard did not answer.
struct session_count {
  size_t users = 0;
  size_t sessions = 0;
  bool all = true;
};
session_count count_sessions(const server_view& server);

/// Answers `req`; called on the control socket's thread (it may wait
/// for actors, each wait bounded).
response run_command(const request& req, const server_view& server);

/// The help text: one line per command.
std::string help_text();

} // namespace dja::control
