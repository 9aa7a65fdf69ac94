#pragma once

// The vhost actor: one per served domain. Owns that domain's plugin
// actors (spawns, monitors and restarts them) and runs its hook chains in
// config order. Callers send it a hook request and get one answer, with
// the hook's default already applied:
//
//   auth_check_password -> bool   (error: temporary failure)
//   auth_user_exists    -> bool
//   iq_request          -> xml::element_ptr (the reply stanza, always)
//   filter_stanza       -> filter_verdict
//   deliver             -> bool   (false: nobody took it)
//   connection_accepted -> bool
//   presence_check      -> answer<vector<element_ptr>> (error: declined)
//   presence_alter_available / _unavailable -> filter_verdict (error:
//                          the stanza unchanged)
//   session_bound, session_closed, presence_initial: notifications.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/behavior.hpp>
#include <caf/actor.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/plugin.hpp"

namespace dja {

/// One plugin instance of a vhost, ready to spawn.
struct plugin_instance {
  std::string name; ///< the type name, used as log tag
  plugins::manifest manifest;
  std::chrono::milliseconds timeout{5000};
  /// Spawns (and re-spawns after a crash) the plugin actor; the second
  /// argument is the vhost actor (for plugins that call other hooks).
  std::function<caf::actor(caf::actor_system&, caf::actor)> spawn;
};

/// Spawns the vhost actor of `domain` with its plugins in chain order.
caf::actor spawn_vhost(caf::actor_system& sys, std::string domain,
                       std::vector<plugin_instance> plugins);

/// The union of the manifests (features, identities, hooks).
plugins::manifest merge_manifests(const std::vector<plugin_instance>& ps);

} // namespace dja

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::filter_verdict)
