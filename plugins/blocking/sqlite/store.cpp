#include "plugins/blocking/sqlite/store.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/sec.hpp>

namespace dja::plugins::sqlite_blocking {

namespace {

constexpr const char* create_tables = R"(
CREATE TABLE blocked_jids (
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  item     TEXT NOT NULL,
  PRIMARY KEY (domain, username, item)
) WITHOUT ROWID;
INSERT INTO schema_version (version) VALUES (1);
)";

constexpr const char* sql_list = "SELECT item FROM blocked_jids"
                                 " WHERE domain = ?1 AND username = ?2"
                                 " ORDER BY item";
constexpr const char* sql_add = "INSERT OR IGNORE INTO blocked_jids"
                                " (domain, username, item) VALUES (?1, ?2, ?3)";
constexpr const char* sql_remove = "DELETE FROM blocked_jids WHERE domain = ?1"
                                   " AND username = ?2 AND item = ?3";
constexpr const char* sql_remove_all = "DELETE FROM blocked_jids"
                                       " WHERE domain = ?1 AND username = ?2";

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

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
}

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  std::unique_ptr<store> st{new store};
  st->path_ = path;
  // Who blocks whom is private: readable by the server's user only
  // (SQLite gives its -wal / -shm files the same mode).
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
  for (auto s : {list_, add_, remove_, remove_all_})
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

caf::expected<std::vector<std::string>>
store::list(const std::string& domain, const std::string& user) {
  auto s = prepare(list_, sql_list);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    out.push_back(column_text(*s, 0));
  if (rc != SQLITE_DONE)
    return fail("cannot read");
  return out;
}

caf::error store::add(const std::string& domain, const std::string& user,
                      const std::vector<std::string>& items) {
  auto s = prepare(add_, sql_add);
  if (!s)
    return s.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  for (auto& item : items) {
    stmt_guard guard{*s};
    bind_text(*s, 1, domain);
    bind_text(*s, 2, user);
    bind_text(*s, 3, item);
    if (sqlite3_step(*s) != SQLITE_DONE)
      return fail("cannot write to");
  }
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return {};
}

caf::expected<std::vector<std::string>>
store::remove(const std::string& domain, const std::string& user,
              const std::vector<std::string>& items) {
  auto s = prepare(remove_, sql_remove);
  if (!s)
    return s.error();
  auto all = prepare(remove_all_, sql_remove_all);
  if (!all)
    return all.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  std::vector<std::string> removed;
  if (items.empty()) {
    auto before = list(domain, user);
    if (!before)
      return before.error();
    removed = std::move(*before);
    stmt_guard guard{*all};
    bind_text(*all, 1, domain);
    bind_text(*all, 2, user);
    if (sqlite3_step(*all) != SQLITE_DONE)
      return fail("cannot write to");
  } else {
    for (auto& item : items) {
      stmt_guard guard{*s};
      bind_text(*s, 1, domain);
      bind_text(*s, 2, user);
      bind_text(*s, 3, item);
      if (sqlite3_step(*s) != SQLITE_DONE)
        return fail("cannot write to");
      if (sqlite3_changes(db_) > 0)
        removed.push_back(item);
    }
  }
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return removed;
}

} // namespace dja::plugins::sqlite_blocking
