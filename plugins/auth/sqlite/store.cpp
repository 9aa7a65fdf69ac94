#include "plugins/auth/sqlite/store.hpp"

#include <sqlite3.h>

#include <caf/error.hpp>

namespace dja::plugins::sqlite_auth {

namespace {

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

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  auto db = sqlite::database::open(path, {create_accounts});
  if (!db)
    return db.error();
  std::unique_ptr<store> st{new store};
  st->db_ = std::move(*db);
  return st;
}

caf::expected<int> store::write(sqlite3_stmt* stmt) {
  stmt_guard guard{stmt};
  auto txn = db_->begin(true);
  if (!txn)
    return txn.error();
  auto rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    auto err = db_->fail("cannot write to");
    sqlite3_reset(stmt); // before the rollback
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return -1;
    return err;
  }
  auto changed = sqlite3_changes(db_->handle());
  if (auto err = txn->commit())
    return err;
  return changed;
}

caf::expected<hooks::scram_credentials>
store::scram(const std::string& domain, const std::string& user,
             const std::string& hash) {
  hooks::scram_credentials res;
  caf::expected<sqlite3_stmt*> s{nullptr};
  if (hash == "SHA-1")
    s = db_->prepare(sql_get_sha1);
  else if (hash == "SHA-256")
    s = db_->prepare(sql_get_sha256);
  else
    return res; // a hash we do not store: as if there were no such user
  if (!s)
    return s.error();
  auto stmt = *s;
  stmt_guard guard{stmt};
  bind_text(stmt, 1, domain);
  bind_text(stmt, 2, user);
  auto rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE)
    return res;
  if (rc != SQLITE_ROW)
    return db_->fail("cannot read");
  res.found = true;
  res.salt = column_blob(stmt, 0);
  res.iterations = static_cast<uint32_t>(sqlite3_column_int64(stmt, 1));
  res.stored_key = column_blob(stmt, 2);
  res.server_key = column_blob(stmt, 3);
  return res;
}

caf::expected<bool> store::exists(const std::string& domain,
                                  const std::string& user) {
  auto s = db_->prepare(sql_exists);
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
  return db_->fail("cannot read");
}

caf::expected<bool> store::insert(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto s = db_->prepare(sql_insert);
  if (!s)
    return s.error();
  bind_account(*s, domain, user, creds);
  auto n = write(*s);
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<bool> store::update(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto s = db_->prepare(sql_update);
  if (!s)
    return s.error();
  bind_account(*s, domain, user, creds);
  auto n = write(*s);
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<bool> store::remove(const std::string& domain,
                                  const std::string& user) {
  auto s = db_->prepare(sql_remove);
  if (!s)
    return s.error();
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  auto n = write(*s);
  if (!n)
    return n.error();
  return *n > 0;
}

caf::expected<std::vector<std::string>>
store::list(const std::string& domain) {
  auto s = db_->prepare(sql_list);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(*s, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(*s, 0)));
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read");
  return out;
}

} // namespace dja::plugins::sqlite_auth
