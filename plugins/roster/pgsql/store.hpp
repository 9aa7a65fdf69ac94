#pragma once

// The PostgreSQL roster store behind roster.pgsql (the data of
// roster.sqlite). Used by one detached actor; every call blocks (bounded,
// see plugins/common/pgsql/connection.hpp).
//
// Schema (component "roster", version 2; 1 had no `listed`):
//
//   roster_items(domain, username, contact TEXT,     -- PRIMARY KEY
//                name, subscription TEXT,            --   (domain, username,
//                ask_out, pending_in, approved,      --    contact)
//                listed BOOLEAN)
//   roster_groups(domain, username, contact, grp TEXT)   -- PRIMARY KEY: all
//   roster_versions(domain, username TEXT, version BIGINT)
//                                                    -- PRIMARY KEY
//                                                    --   (domain, username)
//
// `username` is the prepared local part, `contact` the contact's bare JID.
// Every change is one transaction that also bumps the user's version
// (RFC 6121 §2.6); a whole roster is read in one REPEATABLE READ
// transaction (one snapshot).

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql_roster {

class store {
public:
  explicit store(pgsql::settings cfg);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect();

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

  /// Removes every item; the version is kept and bumped.
  caf::error wipe(const std::string& domain, const std::string& user);

private:
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_roster
