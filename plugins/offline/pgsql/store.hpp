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
// Rows are addressed by id, so "fetch, then remove what the client
// acknowledged" is pending() followed by remove(ids); take() is both in
// one transaction (the current offline.fetch). Once add() returns true the
// row is committed (PostgreSQL's synchronous_commit decides the fsync).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql_offline {

/// One stored stanza.
struct row {
  int64_t id = 0;
  std::string stanza;
};

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

  /// pending() and remove() of what it returned, in one transaction.
  caf::expected<std::vector<row>> take(const std::string& domain,
                                       const std::string& user);

private:
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_offline
