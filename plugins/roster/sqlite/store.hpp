#pragma once

// The SQLite roster store behind roster.sqlite: one database file, opened
// once per plugin actor (which runs detached: every call here blocks).
//
// Schema (version 2; 1 had no `listed`):
//
//   schema_version(version INTEGER NOT NULL)          -- one row
//   roster_items(domain, user, contact TEXT,          -- PRIMARY KEY
//                name TEXT, subscription TEXT,        --   (domain, user,
//                ask_out, pending_in, approved,       --    contact)
//                listed INTEGER)
//   roster_groups(domain, user, contact, grp TEXT)    -- PRIMARY KEY: all
//   roster_versions(domain, user TEXT, version INTEGER)
//                                                     -- PRIMARY KEY
//                                                     --   (domain, user)
//
// `user` is the prepared local part, `contact` the contact's bare JID.
// Every change runs in one BEGIN IMMEDIATE transaction that also bumps the
// user's version (RFC 6121 §2.6), committed with synchronous = FULL.
// Every failure is a caf::error carrying SQLite's message. File mode,
// pragmas, migration and statement cache: plugins/common/sqlite.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite_roster {

class store {
public:
  /// Opens (creating if needed) and migrates the database at `path`.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The roster of `user` with its version ("0" when never changed).
  caf::expected<hooks::roster> get(const std::string& domain,
                                   const std::string& user);

  /// The item for `contact` (a bare JID string): zero or one element.
  caf::expected<std::vector<hooks::roster_item>>
  load(const std::string& domain, const std::string& user,
       const std::string& contact);

  /// Adds or replaces an item; returns the new version.
  caf::expected<std::string> set(const std::string& domain,
                                 const std::string& user,
                                 const hooks::roster_item& item);

  /// Removes an item; returns the new version (unchanged when there was
  /// no such item).
  caf::expected<std::string> remove(const std::string& domain,
                                    const std::string& user,
                                    const std::string& contact);

  /// Removes every item (the version is kept and bumped, so a version a
  /// client cached never comes back for different contents).
  caf::error wipe(const std::string& domain, const std::string& user);

private:
  store() = default;

  /// Steps a bound statement that returns no rows (the caller resets it).
  caf::error step_done(sqlite3_stmt* s);
  /// Bumps the version inside the current transaction and returns it.
  caf::expected<int64_t> bump(const std::string& domain,
                              const std::string& user);
  caf::expected<int64_t> version(const std::string& domain,
                                 const std::string& user);

  std::unique_ptr<sqlite::database> db_;
};

} // namespace dja::plugins::sqlite_roster
