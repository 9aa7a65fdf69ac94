// auth.pgsql: accounts in PostgreSQL, the data of auth.sqlite; nodes
// sharing the database share the accounts. The hooks are
// plugins/auth/serve.hpp; this is the store. libpq calls block (bounded,
// see plugins/common/pgsql/connection.hpp): the actor is detached. Any
// failure, the database down included, is replied as an error, so the
// core fails closed (<temporary-auth-failure/>).
//
// Schema (component "auth", version 1):
//
//   accounts(domain TEXT, username TEXT,         -- PRIMARY KEY (domain, username)
//            sha1_salt BYTEA, sha1_iterations INTEGER,
//            sha1_stored_key BYTEA, sha1_server_key BYTEA,
//            sha256_salt BYTEA, sha256_iterations INTEGER,
//            sha256_stored_key BYTEA, sha256_server_key BYTEA,
//            created BIGINT)                     -- unix time

#include <ctime>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/auth/serve.hpp"
#include "plugins/common/pgsql/connection.hpp"
#include "plugins/common/pgsql/options.hpp"

namespace dja::plugins {

namespace {

using auth::account_creds;

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

class store : public auth::backend {
public:
  explicit store(pgsql::settings cfg) : db_(std::move(cfg), "auth", steps) {
    // nop
  }

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect() {
    return db_.connect();
  }

  caf::expected<hooks::scram_credentials>
  scram(const std::string& domain, const std::string& user,
        const std::string& hash) override;
  caf::expected<bool> exists(const std::string& domain,
                             const std::string& user) override;
  caf::expected<bool> insert(const std::string& domain,
                             const std::string& user,
                             const account_creds& creds) override;
  caf::expected<bool> update(const std::string& domain,
                             const std::string& user,
                             const account_creds& creds) override;
  caf::expected<bool> remove(const std::string& domain,
                             const std::string& user) override;
  caf::expected<std::vector<std::string>>
  list(const std::string& domain) override;

private:
  pgsql::connection db_;
};

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

caf::behavior auth_pgsql(caf::event_based_actor* self, auth::settings cfg,
                         pgsql::settings db_cfg) {
  auto db = std::make_shared<store>(std::move(db_cfg));
  // On the actor's own thread: connecting (and migrating) may take a while.
  if (auto err = db->connect())
    spdlog::error("auth.pgsql: vhost {}: every request fails until the "
                  "database can be reached",
                  cfg.scope.domain);
  return auth::serve(self, std::move(cfg), std::move(db));
}

} // namespace

DJA_PLUGIN(auth_pgsql) {
  return {
    "auth.pgsql",
    "accounts in PostgreSQL (SCRAM credentials only)",
    pgsql::options({auth::iterations_option()}),
    [](const toml::table&) { return auth::describe(true); },
    [](const spawn_context& ctx) {
      std::string tag = "auth.pgsql";
      auth::settings cfg{{ctx.domain, tag}, auth::iterations_of(ctx, tag)};
      return ctx.sys.spawn<caf::detached>(auth_pgsql, std::move(cfg),
                                          pgsql::settings_of(ctx, tag));
    },
  };
}

} // namespace dja::plugins
