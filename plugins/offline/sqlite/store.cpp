#include "plugins/offline/sqlite/store.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace dja::plugins::sqlite_offline {

namespace {

constexpr const char* create_tables = R"(
CREATE TABLE offline_messages (
  id     INTEGER PRIMARY KEY,
  domain TEXT    NOT NULL,
  user   TEXT    NOT NULL,
  stored INTEGER NOT NULL,
  stanza TEXT    NOT NULL
);
CREATE INDEX offline_by_user ON offline_messages (domain, user, id);
INSERT INTO schema_version (version) VALUES (1);
)";

constexpr const char* sql_count =
  "SELECT count(*) FROM offline_messages WHERE domain = ?1 AND user = ?2";
constexpr const char* sql_insert =
  "INSERT INTO offline_messages (domain, user, stored, stanza)"
  " VALUES (?1, ?2, strftime('%s','now'), ?3)";
constexpr const char* sql_select =
  "SELECT id, stanza FROM offline_messages WHERE domain = ?1 AND user = ?2"
  " ORDER BY id";
constexpr const char* sql_delete =
  "DELETE FROM offline_messages WHERE id = ?1 AND domain = ?2 AND user = ?3";

/// Resets a cached statement (and drops its bindings) on scope exit.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

/// A transaction rolled back unless committed.
struct txn_guard {
  sqlite3* db;
  bool open = true;
  ~txn_guard() {
    if (open)
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  std::unique_ptr<store> st{new store};
  st->path_ = path;
  // Messages are private: create the file readable by the server's user
  // only (SQLite gives its -wal / -shm files the same mode).
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
  // FULL: in WAL mode the log is fsync'd at every commit, so a stanza we
  // answered "taken" for survives a power loss, not only a crash.
  if (auto err = st->exec("PRAGMA synchronous = FULL"))
    return err;
  if (auto err = st->migrate())
    return err;
  return st;
}

store::~store() {
  for (auto s : {count_, insert_, select_, delete_})
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
  txn_guard txn{db_};
  if (auto err = exec("CREATE TABLE IF NOT EXISTS schema_version"
                      " (version INTEGER NOT NULL)"))
    return err;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1,
                         &q, nullptr)
      != SQLITE_OK)
    return fail("cannot read the schema version of");
  int version = 0;
  auto rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int(q, 0); // NULL (empty table) reads as 0
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW)
    return fail("cannot read the schema version of");
  if (version > schema_version)
    return caf::make_error(caf::sec::runtime_error,
                           path_ + " has schema version "
                             + std::to_string(version)
                             + ", newer than this server's "
                             + std::to_string(schema_version));
  if (version == 0)
    if (auto err = exec(create_tables))
      return err;
  // Later versions migrate here, one step at a time.
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
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

caf::expected<int64_t> store::count(const std::string& domain,
                                    const std::string& user) {
  auto s = prepare(count_, sql_count);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  if (sqlite3_step(*s) != SQLITE_ROW)
    return fail("cannot read");
  return sqlite3_column_int64(*s, 0);
}

caf::expected<bool> store::add(const std::string& domain,
                               const std::string& user,
                               const std::string& stanza, int64_t max) {
  auto ins = prepare(insert_, sql_insert);
  if (!ins)
    return ins.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  if (max > 0) {
    auto n = count(domain, user);
    if (!n)
      return n.error();
    if (*n >= max)
      return false; // rolled back by the guard
  }
  {
    stmt_guard g{*ins};
    bind_text(*ins, 1, domain);
    bind_text(*ins, 2, user);
    bind_text(*ins, 3, stanza);
    if (sqlite3_step(*ins) != SQLITE_DONE)
      return fail("cannot write to");
  }
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return true;
}

caf::expected<std::vector<std::pair<int64_t, std::string>>>
store::fetch(const std::string& domain, const std::string& user) {
  auto sel = prepare(select_, sql_select);
  if (!sel)
    return sel.error();
  std::vector<std::pair<int64_t, std::string>> out;
  stmt_guard g{*sel};
  bind_text(*sel, 1, domain);
  bind_text(*sel, 2, user);
  int rc;
  while ((rc = sqlite3_step(*sel)) == SQLITE_ROW) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(*sel, 1));
    auto n = static_cast<size_t>(sqlite3_column_bytes(*sel, 1));
    out.emplace_back(sqlite3_column_int64(*sel, 0),
                     p == nullptr ? std::string{} : std::string{p, n});
  }
  if (rc != SQLITE_DONE)
    return fail("cannot read");
  return out;
}

caf::error store::remove(const std::string& domain, const std::string& user,
                         const std::vector<int64_t>& ids) {
  if (ids.empty())
    return {};
  auto del = prepare(delete_, sql_delete);
  if (!del)
    return del.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  for (auto id : ids) {
    stmt_guard g{*del};
    sqlite3_bind_int64(*del, 1, id);
    bind_text(*del, 2, domain);
    bind_text(*del, 3, user);
    if (sqlite3_step(*del) != SQLITE_DONE)
      return fail("cannot write to");
  }
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return {};
}

} // namespace dja::plugins::sqlite_offline
