#pragma once

// The PostgreSQL account store behind auth.pgsql (the same data as
// auth.sqlite): SCRAM credentials only, never a plaintext or reversible
// password. Used by one detached actor; every call blocks (bounded, see
// plugins/common/pgsql/connection.hpp).
//
// Schema (component "auth", version 1):
//
//   accounts(domain TEXT, username TEXT,         -- PRIMARY KEY (domain, username)
//            sha1_salt BYTEA, sha1_iterations INTEGER,
//            sha1_stored_key BYTEA, sha1_server_key BYTEA,
//            sha256_salt BYTEA, sha256_iterations INTEGER,
//            sha256_stored_key BYTEA, sha256_server_key BYTEA,
//            created BIGINT)                     -- unix time

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql_auth {

/// The credentials of one account, for both hash functions.
struct account_creds {
  hooks::scram_credentials sha1;
  hooks::scram_credentials sha256;
};

class store {
public:
  explicit store(pgsql::settings cfg);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect();

  /// found = false when there is no such account (or no such hash).
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
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_auth
