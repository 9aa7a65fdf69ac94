#include "plugins/auth/sqlite/store.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace dja::plugins::sqlite_auth {

namespace {

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

/// Resets a cached statement (and drops its bindings) on scope exit.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

void bind_blob(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

std::string column_blob(sqlite3_stmt* s, int i) {
  auto p = static_cast<const char*>(sqlite3_column_blob(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
}

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
  std::unique_ptr<store> st{new store};
  st->path_ = path;
  // Create the file ourselves, readable by the server's user only: it holds
  // SCRAM keys (SQLite gives its -wal / -shm files the same mode).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  else if (errno != EEXIST)
    return caf::make_error(caf::sec::runtime_error,
                           "cannot create " + path + ": "
                             + std::strerror(errno));
  auto rc = sqlite3_open_v2(path.c_str(), &st->db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  if (rc != SQLITE_OK)
    return st->fail("cannot open");
  sqlite3_extended_result_codes(st->db_, 1);
  sqlite3_busy_timeout(st->db_, 5000);
  if (auto err = st->exec("PRAGMA journal_mode = WAL"))
    return err;
  if (auto err = st->exec("PRAGMA synchronous = FULL"))
    return err;
  if (auto err = st->migrate())
    return err;
  return st;
}

store::~store() {
  for (auto s :
       {get_sha1_, get_sha256_, exists_, insert_, update_, remove_, list_})
    sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

caf::error store::fail(const char* what) const {
  std::string msg = what;
  msg += " ";
  msg += path_;
  msg += ": ";
  msg += db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return caf::make_error(caf::sec::runtime_error, std::move(msg));
}

caf::error store::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("cannot use");
  return {};
}

caf::error store::migrate() {
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  auto rollback = [this](caf::error err) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  };
  if (auto err = exec("CREATE TABLE IF NOT EXISTS schema_version"
                      " (version INTEGER NOT NULL)"))
    return rollback(std::move(err));
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1,
                         &q, nullptr)
      != SQLITE_OK)
    return rollback(fail("cannot read the schema version of"));
  int version = 0;
  auto rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int(q, 0); // NULL (empty table) reads as 0
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW)
    return rollback(fail("cannot read the schema version of"));
  if (version > schema_version)
    return rollback(caf::make_error(
      caf::sec::runtime_error,
      path_ + " has schema version " + std::to_string(version)
        + ", newer than this server's " + std::to_string(schema_version)));
  if (version == 0) {
    if (auto err = exec(create_accounts))
      return rollback(std::move(err));
    if (auto err = exec("INSERT INTO schema_version (version) VALUES (1)"))
      return rollback(std::move(err));
  }
  // Later versions migrate here, one step at a time.
  if (auto err = exec("COMMIT"))
    return rollback(std::move(err));
  return {};
}

caf::expected<sqlite3_stmt*> store::prepare(sqlite3_stmt*& slot,
                                            const char* sql) {
  if (slot == nullptr
      && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot,
                            nullptr)
           != SQLITE_OK)
    return fail("cannot prepare a statement on");
  return slot;
}

caf::expected<int> store::write(sqlite3_stmt* stmt) {
  stmt_guard guard{stmt};
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  auto rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    auto err = fail("cannot write to");
    sqlite3_reset(stmt);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return -1;
    return err;
  }
  auto changed = sqlite3_changes(db_);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    auto err = fail("cannot commit to");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  }
  return changed;
}

caf::expected<hooks::scram_credentials>
store::scram(const std::string& domain, const std::string& user,
             const std::string& hash) {
  hooks::scram_credentials res;
  caf::expected<sqlite3_stmt*> s{nullptr};
  if (hash == "SHA-1")
    s = prepare(get_sha1_, sql_get_sha1);
  else if (hash == "SHA-256")
    s = prepare(get_sha256_, sql_get_sha256);
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
    return fail("cannot read");
  res.found = true;
  res.salt = column_blob(stmt, 0);
  res.iterations = static_cast<uint32_t>(sqlite3_column_int64(stmt, 1));
  res.stored_key = column_blob(stmt, 2);
  res.server_key = column_blob(stmt, 3);
  return res;
}

caf::expected<bool> store::exists(const std::string& domain,
                                  const std::string& user) {
  auto s = prepare(exists_, sql_exists);
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
  return fail("cannot read");
}

caf::expected<bool> store::insert(const std::string& domain,
                                  const std::string& user,
                                  const account_creds& creds) {
  auto s = prepare(insert_, sql_insert);
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
  auto s = prepare(update_, sql_update);
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
  auto s = prepare(remove_, sql_remove);
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
  auto s = prepare(list_, sql_list);
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
    return fail("cannot read");
  return out;
}

} // namespace dja::plugins::sqlite_auth
