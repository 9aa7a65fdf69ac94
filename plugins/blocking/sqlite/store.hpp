#pragma once

// The SQLite store behind blocking.sqlite: one database file, opened once
// per plugin actor (which runs detached: every call here blocks). Same
// conventions as the other stores: WAL, synchronous = FULL, a busy
// timeout, prepared statements, a transaction per change, failures as
// caf::error carrying SQLite's message.
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

struct sqlite3;
struct sqlite3_stmt;

namespace dja::plugins::sqlite_blocking {

class store {
public:
  /// Opens (creating if needed, mode 0600) and migrates the database.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  ~store();
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

  static constexpr int schema_version = 1;

private:
  store() = default;
  caf::error fail(const char* what) const;
  caf::error exec(const char* sql);
  caf::error migrate();
  caf::expected<sqlite3_stmt*> prepare(sqlite3_stmt*& slot, const char* sql);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* list_ = nullptr;
  sqlite3_stmt* add_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  sqlite3_stmt* remove_all_ = nullptr;
};

} // namespace dja::plugins::sqlite_blocking
