#pragma once

// What blocking.memory and blocking.sqlite share: the hooks they serve
// (XEP-0191 block lists) over a backend that keeps the lists. The session
// enforces a user's list while the user is online (actors/session/
// blocking.cpp); the plugin answers `blocking.check` for the router and
// serves `deliver` so that a message from a blocked JID to an offline
// user is dropped before an offline store later in the chain keeps it.

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "hooks/plugin.hpp"

namespace dja::plugins::blocking {

/// Where the lists are kept, per local part of the plugin's domain. Items
/// are prepared JID strings. The calls may block (SQLite): a plugin with
/// a blocking backend is spawned detached.
class backend {
public:
  virtual ~backend() = default;
  /// The items of `user`, sorted.
  virtual caf::expected<std::vector<std::string>>
  list(const std::string& user) = 0;
  /// Adds `items` (all or none).
  virtual caf::error add(const std::string& user,
                         const std::vector<std::string>& items) = 0;
  /// Removes `items` (every item when empty); returns those that were
  /// there.
  virtual caf::expected<std::vector<std::string>>
  remove(const std::string& user, const std::vector<std::string>& items) = 0;
};

/// The behavior of a blocking plugin of `domain` (log tag `tag`).
caf::behavior serve(caf::event_based_actor* self, std::string domain,
                    std::string tag, std::shared_ptr<backend> store);

/// The manifest both declare: the blocking.* hooks, `deliver`, and the
/// disco feature urn:xmpp:blocking.
manifest describe();

} // namespace dja::plugins::blocking
