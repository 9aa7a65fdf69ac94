// auth.sqlite: accounts in an SQLite database, one file per plugin
// (default data_dir/accounts.sqlite). The hooks are plugins/auth/serve.hpp;
// this is the store. SQLite calls block: the actor is detached.
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
// message. File mode, pragmas, migration and statement cache:
// plugins/common/sqlite.

#include <filesystem>
#include <functional>
#include <memory>

#include <sqlite3.h>

#include <caf/all.hpp>

#include "plugins/auth/serve.hpp"
#include "plugins/common/sqlite/lazy_database.hpp"

namespace dja::plugins {

namespace {

using auth::account_creds;
using sqlite::bind_blob;
using sqlite::bind_text;
using sqlite::column_blob;
using sqlite::stmt_guard;

constexpr const char* create_accounts = R"(
CREATE TABLE accounts (
  domain            TEXT    NOT NULL,
  username          TEXT    NOT NULL,
  sha1_salt         BLOB    NOT NULL,
  sha1_iterations   INTEGER NOT NULL,
  sha1_stored_key   BLOB    NOT NULL,
  sha1_server_key   BLOB    NOT NULL,
  sha256_salt       BLOB    NOT NULL,
  sha256_iterations INTEGER NOT NULL,
  sha256_stored_key BLOB    NOT NULL,
  sha256_server_key BLOB    NOT NULL,
  created           INTEGER NOT NULL,
  PRIMARY KEY (domain, username)
) WITHOUT ROWID)";

constexpr const char* sql_get_sha1 =
  "SELECT sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key"
  " FROM accounts WHERE domain = ?1 AND username = ?2";
constexpr const char* sql_get_sha256 =
  "SELECT sha256_salt, sha256_iterations, sha256_stored_key,"
  " sha256_server_key FROM accounts WHERE domain = ?1 AND username = ?2";
constexpr const char* sql_exists =
  "SELECT 1 FROM accounts WHERE domain = ?1 AND username = ?2";
constexpr const char* sql_insert =
  "INSERT INTO accounts (domain, username, sha1_salt, sha1_iterations,"
  " sha1_stored_key, sha1_server_key, sha256_salt, sha256_iterations,"
  " sha256_stored_key, sha256_server_key, created)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, strftime('%s','now'))";
constexpr const char* sql_update =
  "UPDATE accounts SET sha1_salt = ?3, sha1_iterations = ?4,"
  " sha1_stored_key = ?5, sha1_server_key = ?6, sha256_salt = ?7,"
  " sha256_iterations = ?8, sha256_stored_key = ?9, sha256_server_key = ?10"
  " WHERE domain = ?1 AND username = ?2";
constexpr const char* sql_remove =
  "DELETE FROM accounts WHERE domain = ?1 AND username = ?2";
constexpr const char* sql_list =
  "SELECT username FROM accounts WHERE domain = ?1 ORDER BY username";

/// Binds ?1..?10 of the insert / update statements.
void bind_account(sqlite3_stmt* s, const std::string& domain,
                  const std::string& user, const account_creds& c) {
  bind_text(s, 1, domain);
  bind_text(s, 2, user);
  bind_blob(s, 3, c.sha1.salt);
  sqlite3_bind_int64(s, 4, c.sha1.iterations);
  bind_blob(s, 5, c.sha1.stored_key);
  bind_blob(s, 6, c.sha1.server_key);
  bind_blob(s, 7, c.sha256.salt);
  sqlite3_bind_int64(s, 8, c.sha256.iterations);
  bind_blob(s, 9, c.sha256.stored_key);
  bind_blob(s, 10, c.sha256.server_key);
}

class store : public auth::backend {
public:
  store(std::string path, std::string tag)
    : db_(std::move(path), {create_accounts}, std::move(tag)) {
    // nop
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
  /// A write inside BEGIN IMMEDIATE ... COMMIT; returns the changed rows
  /// (-1: the primary key exists already).
  caf::expected<int> write(const char* sql,
                           const std::function<void(sqlite3_stmt*)>& bind);

  sqlite::lazy_database db_;
};
caf::expected<int>
store::write(const char* sql, const std::function<void(sqlite3_stmt*)>& bind) {
  auto db = db_.get();
  if (!db)
    return db.error();
  auto s = (*db)->prepare(sql);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind(*s);
  auto txn = (*db)->begin(true);
  if (!txn)
    return txn.error();
  auto rc = sqlite3_step(*s);
  if (rc != SQLITE_DONE) {
    auto err = (*db)->fail("cannot write to");
    sqlite3_reset(*s); // before the rollback
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return -1;
    return err;
  }
  auto changed = sqlite3_changes((*db)->handle());
  if (auto err = txn->commit())
    return err;
  return changed;
}

caf::expected<hooks::scram_credentials>
store::scram(const std::string& domain, const std::string& user,
             const std::string& hash) {
  hooks::scram_credentials res;
  const char* sql = hash == "SHA-1"     ? sql_get_sha1
                    : hash == "SHA-256" ? sql_get_sha256
                                        : nullptr;
  if (sql == nullptr)
    return res; // a hash we do not store: as if there were no such user
  auto db = db_.get();
  if (!db)
    return db.error();
  auto s = (*db)->prepare(sql);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_DONE)
    return res;
  if (rc != SQLITE_ROW)
    return (*db)->fail("cannot read");
  res.found = true;
  res.salt = column_blob(*s, 0);
  res.iterations = static_cast<uint32_t>(sqlite3_column_int64(*s, 1));
  res.stored_key = column_blob(*s, 2);
  res.server_key = column_blob(*s, 3);
  return res;
}

caf::expected<bool> store::exists(const std::string& domain,
                                  const std::string& user) {
  auto db = db_.get();
  if (!db)
    return db.error();
  auto s = (*db)->prepare(sql_exists);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  return (*db)->fail("cannot read");
}

caf::expected<bool> store::insert(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto n = write(sql_insert, [&](sqlite3_stmt* s) {
    bind_account(s, domain, user, creds);
  });
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<bool> store::update(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto n = write(sql_update, [&](sqlite3_stmt* s) {
    bind_account(s, domain, user, creds);
  });
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<bool> store::remove(const std::string& domain,
                                  const std::string& user) {
  auto n = write(sql_remove, [&](sqlite3_stmt* s) {
    bind_text(s, 1, domain);
    bind_text(s, 2, user);
  });
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<std::vector<std::string>>
store::list(const std::string& domain) {
  auto db = db_.get();
  if (!db)
    return db.error();
  auto s = (*db)->prepare(sql_list);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    out.push_back(sqlite::column_text(*s, 0));
  if (rc != SQLITE_DONE)
    return (*db)->fail("cannot read");
  return out;
}

} // namespace

DJA_PLUGIN(auth_sqlite) {
  return {
    "auth.sqlite",
    "accounts in an SQLite database (SCRAM credentials only)",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"accounts.sqlite\")"},
     auth::iterations_option()},
    [](const toml::table&) { return auth::describe(true); },
    [](const spawn_context& ctx) {
      std::string tag = "auth.sqlite";
      auto file = ctx.options["file"].value_or(std::string{"accounts.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      auto db = std::make_shared<store>(path, tag + ": vhost " + ctx.domain);
      auth::settings cfg{{ctx.domain, tag}, auth::iterations_of(ctx, tag)};
      return ctx.sys.spawn<caf::detached>(
        auth::serve, std::move(cfg),
        std::shared_ptr<auth::backend>{std::move(db)});
    },
  };
}

} // namespace dja::plugins
