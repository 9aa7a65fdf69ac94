#pragma once

// The SQLite store behind offline.sqlite (XEP-0160 offline messages): one
// database file, opened once per plugin actor (which runs detached: every
// call here blocks).
//
// Schema (version 1):
//
//   schema_version(version INTEGER NOT NULL)        -- one row
//   offline_messages(id INTEGER PRIMARY KEY,        -- arrival order
//                    domain TEXT, user TEXT,        -- the recipient
//                    stored INTEGER,                -- unix time
//                    stanza TEXT)                   -- serialized XML
//   INDEX offline_by_user(domain, user, id)
//
// Writes run in BEGIN IMMEDIATE transactions committed with
// synchronous = FULL (fsync'd): once add() returns, the stanza survives a
// crash or a power loss. Every failure is a caf::error carrying SQLite's
// message.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace dja::plugins::sqlite_offline {

class store {
public:
  /// Opens (creating if needed) and migrates the database at `path`.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Stores one stanza for `user` unless `user` holds `max` stanzas
  /// already (max 0: no limit). true: stored and committed; false: full.
  caf::expected<bool> add(const std::string& domain, const std::string& user,
                          const std::string& stanza, int64_t max);

  /// The stored stanzas of `user` with their ids, oldest first. Nothing
  /// is deleted: see remove().
  caf::expected<std::vector<std::pair<int64_t, std::string>>>
  fetch(const std::string& domain, const std::string& user);

  /// Deletes the stanzas `ids` of `user` (ids not stored are ignored),
  /// in one committed transaction.
  caf::error remove(const std::string& domain, const std::string& user,
                    const std::vector<int64_t>& ids);

  /// How many stanzas `user` has waiting.
  caf::expected<int64_t> count(const std::string& domain,
                               const std::string& user);

  /// The schema version this code writes.
  static constexpr int schema_version = 1;

private:
  store() = default;

  caf::error fail(const char* what) const;
  caf::error exec(const char* sql);
  caf::error migrate();
  caf::expected<sqlite3_stmt*> prepare(sqlite3_stmt*& slot, const char* sql);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* count_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
};

} // namespace dja::plugins::sqlite_offline
