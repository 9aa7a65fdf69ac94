#pragma once

// What every roster store plugin shares (roster.memory, roster.sqlite,
// roster.pgsql): the roster.* hooks for users of the plugin's vhost,
// served once over a backend that keeps the items; other domains are
// declined. Versioning (RFC 6121 §2.6) is the backend's: a per-user
// counter, bumped with every change and kept across a wipe, so a client
// that cached the roster of a deleted account never sees the same version
// for different contents. Any storage failure is replied as an error (the
// core answers <internal-server-error/>).
//
// Bound (option `max_items`, default 1000): a user's roster holds at most
// that many records, listed items and requests alone together. A set that
// would add a record beyond it is refused with quota_reached()
// (actors/common/quota.hpp) and logged: a roster set from the client is
// answered <not-allowed/> (RFC 6120 §8.3.3.12; type cancel, as the bound
// does not go away by waiting, unlike <resource-constraint/>), and an
// inbound subscription request that would create a record is not
// delivered (the router logs it). Changing an existing record is always
// allowed, so a full roster keeps working.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/scope.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::roster {

/// Where the rosters are kept. `user` is a prepared local part of
/// `domain`, `contact` a bare JID string; items come in normalized (bare
/// contact, groups sorted without duplicates). The calls may block
/// (SQLite, libpq): a plugin with a blocking backend is spawned detached.
class backend {
public:
  virtual ~backend() = default;

  /// The roster of `user` with its version ("0" when never changed),
  /// items sorted by contact.
  virtual caf::expected<hooks::roster> get(const std::string& domain,
                                           const std::string& user) = 0;

  /// The item for `contact`: zero or one element.
  virtual caf::expected<std::vector<hooks::roster_item>>
  load(const std::string& domain, const std::string& user,
       const std::string& contact) = 0;

  /// Adds or replaces an item; returns the new version.
  virtual caf::expected<std::string> set(const std::string& domain,
                                         const std::string& user,
                                         const hooks::roster_item& item) = 0;

  /// Removes an item; returns the new version (unchanged when there was
  /// no such item).
  virtual caf::expected<std::string> remove(const std::string& domain,
                                            const std::string& user,
                                            const std::string& contact) = 0;

  /// Removes every item; the version is kept and bumped.
  virtual caf::error wipe(const std::string& domain,
                          const std::string& user) = 0;

  /// How many records `user` has (listed or not).
  virtual caf::expected<size_t> count(const std::string& domain,
                                      const std::string& user) = 0;
};

/// What serve() needs besides the store.
struct settings {
  plugins::scope scope;    ///< the vhost and the log tag
  size_t max_items = 1000; ///< records per user
};

/// `own` (a store's options, first) and `max_items`.
std::vector<option_spec> options(std::vector<option_spec> own = {});

/// The settings of a roster plugin of type `tag` spawned with `ctx`.
settings settings_of(const spawn_context& ctx, std::string tag);

/// The behavior of a roster plugin.
caf::behavior serve(caf::event_based_actor* self, settings cfg,
                    std::shared_ptr<backend> store);

/// The manifest every roster plugin declares: the roster.* hooks.
manifest describe();

} // namespace dja::plugins::roster
