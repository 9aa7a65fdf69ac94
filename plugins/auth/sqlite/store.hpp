#pragma once

// The SQLite account store behind auth.sqlite: one database file, opened
// once per plugin actor (which runs detached: every call here blocks).
//
// Schema (version 1):
//
//   schema_version(version INTEGER NOT NULL)   -- one row
//   accounts(domain TEXT, username TEXT,       -- PRIMARY KEY (domain, username)
//            sha1_salt BLOB, sha1_iterations INTEGER,
//            sha1_stored_key BLOB, sha1_server_key BLOB,
//            sha256_salt BLOB, sha256_iterations INTEGER,
//            sha256_stored_key BLOB, sha256_server_key BLOB,
//            created INTEGER)                  -- unix time
//
// Only SCRAM credentials (RFC 5802 §3) are stored, never a plaintext or
// reversible password. Every failure is a caf::error carrying SQLite's
// message (the caller replies it, so the core fails closed). File mode,
// pragmas, migration and statement cache: plugins/common/sqlite.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite_auth {

/// The credentials of one account, for both hash functions.
struct account_creds {
  hooks::scram_credentials sha1;
  hooks::scram_credentials sha256;
};

class store {
public:
  /// Opens (creating if needed) and migrates the database at `path`.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The credentials of `user` for `hash` ("SHA-1" or "SHA-256"); found =
  /// false when there is no such account (or no such hash).
  caf::expected<hooks::scram_credentials>
  scram(const std::string& domain, const std::string& user,
        const std::string& hash);

  caf::expected<bool> exists(const std::string& domain,
                             const std::string& user);

  /// false: the account exists already.
  caf::expected<bool> insert(const std::string& domain,
                             const std::string& user,
                             const account_creds& creds);

  /// false: no such account.
  caf::expected<bool> update(const std::string& domain,
                             const std::string& user,
                             const account_creds& creds);

  /// false: no such account.
  caf::expected<bool> remove(const std::string& domain,
                             const std::string& user);

  /// The user names of `domain`, sorted.
  caf::expected<std::vector<std::string>> list(const std::string& domain);

private:
  store() = default;

  /// A write inside BEGIN IMMEDIATE ... COMMIT; returns the changed rows.
  caf::expected<int> write(sqlite3_stmt* stmt);

  std::unique_ptr<sqlite::database> db_;
};

} // namespace dja::plugins::sqlite_auth
