#include "plugins/auth/pgsql/store.hpp"

#include <ctime>

namespace dja::plugins::pgsql_auth {

namespace {

using pgsql::connection;
using pgsql::params;
using pgsql::session;

const std::vector<pgsql::migration> steps{
  // 1: the accounts table.
  R"(CREATE TABLE accounts (
       domain            TEXT    NOT NULL,
       username          TEXT    NOT NULL,
       sha1_salt         BYTEA   NOT NULL,
       sha1_iterations   INTEGER NOT NULL,
       sha1_stored_key   BYTEA   NOT NULL,
       sha1_server_key   BYTEA   NOT NULL,
       sha256_salt       BYTEA   NOT NULL,
       sha256_iterations INTEGER NOT NULL,
       sha256_stored_key BYTEA   NOT NULL,
       sha256_server_key BYTEA   NOT NULL,
       created           BIGINT  NOT NULL,
       PRIMARY KEY (domain, username)))",
};

constexpr const char* sql_sha1 =
  "SELECT encode(sha1_salt, 'hex'), sha1_iterations,"
  " encode(sha1_stored_key, 'hex'), encode(sha1_server_key, 'hex')"
  " FROM accounts WHERE domain = $1 AND username = $2";
constexpr const char* sql_sha256 =
  "SELECT encode(sha256_salt, 'hex'), sha256_iterations,"
  " encode(sha256_stored_key, 'hex'), encode(sha256_server_key, 'hex')"
  " FROM accounts WHERE domain = $1 AND username = $2";
constexpr const char* sql_exists =
  "SELECT 1 FROM accounts WHERE domain = $1 AND username = $2";
constexpr const char* sql_insert =
  "INSERT INTO accounts (domain, username,"
  " sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key,"
  " sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key,"
  " created) VALUES ($1, $2, decode($3, 'hex'), $4, decode($5, 'hex'),"
  " decode($6, 'hex'), decode($7, 'hex'), $8, decode($9, 'hex'),"
  " decode($10, 'hex'), $11) ON CONFLICT (domain, username) DO NOTHING";
constexpr const char* sql_update =
  "UPDATE accounts SET sha1_salt = decode($3, 'hex'), sha1_iterations = $4,"
  " sha1_stored_key = decode($5, 'hex'), sha1_server_key = decode($6, 'hex'),"
  " sha256_salt = decode($7, 'hex'), sha256_iterations = $8,"
  " sha256_stored_key = decode($9, 'hex'),"
  " sha256_server_key = decode($10, 'hex')"
  " WHERE domain = $1 AND username = $2";
constexpr const char* sql_remove =
  "DELETE FROM accounts WHERE domain = $1 AND username = $2";
constexpr const char* sql_list =
  "SELECT username FROM accounts WHERE domain = $1 ORDER BY username";

/// The parameters $1..$10 of sql_insert / sql_update.
params creds_params(const std::string& domain, const std::string& user,
                    const account_creds& c) {
  return {domain,
          user,
          connection::hex(c.sha1.salt),
          std::to_string(c.sha1.iterations),
          connection::hex(c.sha1.stored_key),
          connection::hex(c.sha1.server_key),
          connection::hex(c.sha256.salt),
          std::to_string(c.sha256.iterations),
          connection::hex(c.sha256.stored_key),
          connection::hex(c.sha256.server_key)};
}

} // namespace

store::store(pgsql::settings cfg) : db_(std::move(cfg), "auth", steps) {
  // nop
}

caf::error store::connect() {
  return db_.connect();
}

caf::expected<hooks::scram_credentials>
store::scram(const std::string& domain, const std::string& user,
             const std::string& hash) {
  const char* sql = hash == "SHA-1"     ? sql_sha1
                    : hash == "SHA-256" ? sql_sha256
                                        : nullptr;
  if (sql == nullptr)
    return hooks::scram_credentials{}; // a hash we do not store
  return db_.query<hooks::scram_credentials>(
    [&](session& s) -> caf::expected<hooks::scram_credentials> {
      auto r = s.exec(sql, {domain, user});
      if (!r)
        return r.error();
      hooks::scram_credentials c;
      if (r->rows() == 0)
        return c;
      c.found = true;
      c.salt = connection::unhex(r->text(0, 0));
      c.iterations = static_cast<uint32_t>(r->integer(0, 1));
      c.stored_key = connection::unhex(r->text(0, 2));
      c.server_key = connection::unhex(r->text(0, 3));
      return c;
    });
}

caf::expected<bool> store::exists(const std::string& domain,
                                  const std::string& user) {
  return db_.query<bool>([&](session& s) -> caf::expected<bool> {
    auto r = s.exec(sql_exists, {domain, user});
    if (!r)
      return r.error();
    return r->rows() > 0;
  });
}

caf::expected<bool> store::insert(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto ps = creds_params(domain, user, creds);
  ps.push_back(std::to_string(static_cast<int64_t>(std::time(nullptr))));
  return db_.query<bool>([&](session& s) -> caf::expected<bool> {
    auto r = s.exec(sql_insert, ps);
    if (!r)
      return r.error();
    return r->affected() > 0;
  });
}

caf::expected<bool> store::update(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto ps = creds_params(domain, user, creds);
  return db_.query<bool>([&](session& s) -> caf::expected<bool> {
    auto r = s.exec(sql_update, ps);
    if (!r)
      return r.error();
    return r->affected() > 0;
  });
}

caf::expected<bool> store::remove(const std::string& domain,
                                  const std::string& user) {
  return db_.query<bool>([&](session& s) -> caf::expected<bool> {
    auto r = s.exec(sql_remove, {domain, user});
    if (!r)
      return r.error();
    return r->affected() > 0;
  });
}

caf::expected<std::vector<std::string>>
store::list(const std::string& domain) {
  using names = std::vector<std::string>;
  return db_.query<names>([&](session& s) -> caf::expected<names> {
    auto r = s.exec(sql_list, {domain});
    if (!r)
      return r.error();
    names out;
    for (int i = 0; i < r->rows(); ++i)
      out.push_back(r->text(i, 0));
    return out;
  });
}

} // namespace dja::plugins::pgsql_auth
