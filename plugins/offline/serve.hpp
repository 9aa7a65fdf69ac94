#pragma once

// What offline.memory, offline.sqlite and offline.pgsql share: XEP-0160
// offline messages over a backend that keeps serialized stanzas per
// recipient. The feature actor serves `deliver` (a message for a user
// with no session), `offline.fetch` and `offline.remove` (the session
// takes them at the user's next available presence, writes them, then
// has them removed); what is stored, the delay stamp and the quota are
// plugins/offline/common/policy.hpp. Each backend only keeps, lists and
// removes rows.
//
// Durability: "taken" is answered only after the backend committed the
// row. A fetch deletes nothing; `offline.remove` deletes the rows the
// session has written to its connection. A session that dies in between
// leaves them for the next login.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hooks/plugin.hpp"

namespace dja::plugins::offline {

/// One stored stanza: its id (increasing in arrival order) and the
/// stanza serialized by xml::to_string().
using row = std::pair<int64_t, std::string>;

/// Where the stanzas of one vhost are kept, per local part.
class backend {
public:
  virtual ~backend() = default;

  /// Opens or connects (and migrates) on the actor's own thread, once at
  /// start-up; an error is logged and later calls try again.
  virtual caf::error start() = 0;

  /// Whether the calls block (the actor must then be detached).
  virtual bool blocking() const = 0;

  /// Stores one stanza for `user` unless `user` holds `max` stanzas
  /// already (max 0: no limit). true: stored and committed; false: full.
  virtual caf::expected<bool> add(const std::string& user,
                                  const std::string& stanza, int64_t max)
    = 0;

  /// The stored stanzas of `user`, oldest first (nothing removed).
  virtual caf::expected<std::vector<row>> fetch(const std::string& user)
    = 0;

  /// Removes the stanzas `ids` of `user` (ids not stored are ignored).
  virtual caf::error remove(const std::string& user,
                            const std::vector<int64_t>& ids)
    = 0;
};

/// The plugin type `name`: the options `store_options` of its backend,
/// then `max_messages`; its actor serves the offline hooks over the
/// backend `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<backend>(const spawn_context&)> open);

} // namespace dja::plugins::offline
