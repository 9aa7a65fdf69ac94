#pragma once

// The SQLite store behind blocking.sqlite: one database file, opened once
// per plugin actor (which runs detached: every call here blocks), on the
// shared SQLite layer (plugins/common/sqlite: mode 0600, WAL, synchronous
// = FULL, migrations, cached statements, transactions, errors).
//
// Schema (version 1):
//
//   schema_version(version INTEGER NOT NULL)          -- one row
//   blocked_jids(domain, username, item TEXT)         -- PRIMARY KEY: all
//
// `username` is the prepared local part, `item` a prepared JID string.

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite_blocking {

class store {
public:
  /// Opens (creating if needed, mode 0600) and migrates the database.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  ~store() = default;
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The items of `user`, sorted.
  caf::expected<std::vector<std::string>> list(const std::string& domain,
                                               const std::string& user);

  /// Adds `items` in one transaction (already there: no error).
  caf::error add(const std::string& domain, const std::string& user,
                 const std::vector<std::string>& items);

  /// Removes `items` (all when empty) in one transaction; returns those
  /// that were there.
  caf::expected<std::vector<std::string>>
  remove(const std::string& domain, const std::string& user,
         const std::vector<std::string>& items);

private:
  store() = default;

  std::unique_ptr<sqlite::database> db_;
};

} // namespace dja::plugins::sqlite_blocking
