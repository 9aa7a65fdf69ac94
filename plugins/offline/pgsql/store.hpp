#pragma once

// The PostgreSQL store behind offline.pgsql (XEP-0160 offline messages,
// the data of offline.sqlite). Used by one detached actor; every call
// blocks (bounded, see plugins/common/pgsql/connection.hpp).
//
// Schema (component "offline", version 1):
//
//   offline_messages(id BIGSERIAL PRIMARY KEY,     -- arrival order
//                    domain TEXT, username TEXT,   -- the recipient
//                    stored BIGINT,                -- unix time
//                    stanza TEXT)                  -- serialized XML
//   INDEX offline_by_user(domain, username, id)
//
// Rows are addressed by id: offline.fetch is pending(), offline.remove
// (once the session wrote them) is remove(ids). Once add() returns true
// the row is committed (PostgreSQL's synchronous_commit decides the
// fsync).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql_offline {

/// One stored stanza: id, serialized stanza (what
/// offline::parse_stored() reads).
using row = std::pair<int64_t, std::string>;

class store {
public:
  explicit store(pgsql::settings cfg);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect();

  /// Stores one stanza for `user` unless `user` holds `max` stanzas
  /// already (max 0: no limit). true: stored and committed; false: full.
  caf::expected<bool> add(const std::string& domain, const std::string& user,
                          const std::string& stanza, int64_t max);

  /// The stored stanzas of `user`, oldest first (nothing removed).
  caf::expected<std::vector<row>> pending(const std::string& domain,
                                          const std::string& user);

  /// Removes these rows of `user`; returns how many were there.
  caf::expected<int64_t> remove(const std::string& domain,
                                const std::string& user,
                                const std::vector<int64_t>& ids);

private:
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_offline
