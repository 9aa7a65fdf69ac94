#include "plugins/vcard/sqlite/doc_store.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/sec.hpp>

#include "common/stream_parser.hpp"

namespace dja::plugins::sqlite_docs {

namespace {

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

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
}

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path,
                                                  const std::string& table) {
  std::unique_ptr<store> st{new store};
  st->path_ = path;
  st->table_ = table;
  // Private data: readable by the server's user only (SQLite gives its
  // -wal / -shm files the same mode).
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
  for (auto s : {get_, put_, remove_})
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
  constexpr int schema_version = 1;
  if (version > schema_version)
    return rollback(caf::make_error(
      caf::sec::runtime_error,
      path_ + " has schema version " + std::to_string(version)
        + ", newer than this server's " + std::to_string(schema_version)));
  // IF NOT EXISTS: the table of this plugin, also in a file that another
  // store already brought to version 1.
  auto create = "CREATE TABLE IF NOT EXISTS " + table_
                + " (domain TEXT NOT NULL, username TEXT NOT NULL,"
                  " key TEXT NOT NULL, value TEXT NOT NULL,"
                  " updated INTEGER NOT NULL,"
                  " PRIMARY KEY (domain, username, key)) WITHOUT ROWID";
  if (auto err = exec(create.c_str()))
    return rollback(std::move(err));
  if (version == 0)
    if (auto err = exec("INSERT INTO schema_version (version) VALUES (1)"))
      return rollback(std::move(err));
  // Later versions migrate here, one step at a time.
  if (auto err = exec("COMMIT"))
    return rollback(std::move(err));
  return {};
}

caf::expected<sqlite3_stmt*> store::prepare(sqlite3_stmt*& slot,
                                            const std::string& sql) {
  if (slot == nullptr
      && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                            &slot, nullptr)
           != SQLITE_OK)
    return fail("cannot prepare a statement on");
  return slot;
}

caf::expected<doc> store::get(const std::string& domain,
                              const std::string& user,
                              const std::string& key) {
  auto s = prepare(get_, "SELECT value, updated FROM " + table_
                           + " WHERE domain = ?1 AND username = ?2"
                             " AND key = ?3");
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  bind_text(*s, 3, key);
  doc res;
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_DONE)
    return res;
  if (rc != SQLITE_ROW)
    return fail("cannot read");
  res.found = true;
  res.value = column_text(*s, 0);
  res.updated = sqlite3_column_int64(*s, 1);
  return res;
}

caf::error
store::put(const std::string& domain, const std::string& user,
           const std::vector<std::pair<std::string, std::string>>& docs,
           int64_t updated) {
  auto s = prepare(put_, "INSERT OR REPLACE INTO " + table_
                           + " (domain, username, key, value, updated)"
                             " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s)
    return s.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  for (auto& [key, value] : docs) {
    stmt_guard guard{*s};
    bind_text(*s, 1, domain);
    bind_text(*s, 2, user);
    bind_text(*s, 3, key);
    bind_text(*s, 4, value);
    sqlite3_bind_int64(*s, 5, updated);
    if (sqlite3_step(*s) != SQLITE_DONE) {
      auto err = fail("cannot write to");
      sqlite3_reset(*s);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return err;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    auto err = fail("cannot commit to");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  }
  return {};
}

caf::error store::remove(const std::string& domain, const std::string& user,
                         const std::string& key) {
  auto s = prepare(remove_, "DELETE FROM " + table_
                              + " WHERE domain = ?1 AND username = ?2"
                                " AND key = ?3");
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  bind_text(*s, 3, key);
  if (sqlite3_step(*s) != SQLITE_DONE)
    return fail("cannot write to");
  return {};
}

xml::element_ptr parse_element(const std::string& text) {
  static const std::string open = "<s xmlns='jabber:client'>";
  xml::stream_parser p{text.size() + open.size() + 64};
  std::vector<xml::stream_event> events;
  auto in = open + text + "</s>";
  if (p.feed(in.data(), in.size(), events) != xml::parse_error::none)
    return nullptr;
  xml::element_ptr found;
  for (auto& ev : events) {
    if (ev.kind != xml::stream_event::stanza)
      continue;
    if (found)
      return nullptr; // more than one element
    found = ev.elem;
  }
  return found;
}

} // namespace dja::plugins::sqlite_docs
