#pragma once

// The vhost actor: one per served domain. Owns that domain's plugin
// actors (spawns, monitors and restarts them) and runs its hook chains in
// config order (docs/hooks.md). It has one handler per hook of the
// catalogue (actors/hooks/catalogue.hpp): a caller sends it a hook request
// and gets one answer, the hook's `settle` of how the chain ended (the
// hook's fallback already applied); a notification goes to every plugin
// serving it.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/behavior.hpp>
#include <caf/actor.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

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
