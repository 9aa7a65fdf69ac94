#include "plugins/common/sqlite/database.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/sec.hpp>

namespace dja::plugins::sqlite {

caf::expected<std::unique_ptr<database>>
database::open(const std::string& path, const std::vector<std::string>& steps) {
  std::unique_ptr<database> db{new database};
  db->path_ = path;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  else if (errno != EEXIST)
    return caf::make_error(caf::sec::runtime_error,
                           "cannot create " + path + ": "
                             + std::strerror(errno));
  auto rc = sqlite3_open_v2(path.c_str(), &db->db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  if (rc != SQLITE_OK)
    return db->fail("cannot open");
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, 5000);
  if (auto err = db->exec("PRAGMA journal_mode = WAL"))
    return err;
  if (auto err = db->exec("PRAGMA synchronous = FULL"))
    return err;
  if (auto err = db->migrate(steps))
    return err;
  return db;
}

database::~database() {
  for (auto& [sql, s] : stmts_)
    sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

caf::error database::fail(const char* what) const {
  std::string msg = what;
  msg += " ";
  msg += path_;
  msg += ": ";
  msg += db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return caf::make_error(caf::sec::runtime_error, std::move(msg));
}

caf::error database::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("cannot use");
  return {};
}

caf::error database::migrate(const std::vector<std::string>& steps) {
  auto txn = begin(true);
  if (!txn)
    return txn.error();
  if (auto err = exec("CREATE TABLE IF NOT EXISTS schema_version"
                      " (version INTEGER NOT NULL)"))
    return err;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1,
                         &q, nullptr)
      != SQLITE_OK)
    return fail("cannot read the schema version of");
  int64_t version = 0;
  auto rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int64(q, 0); // NULL (empty table) reads as 0
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW)
    return fail("cannot read the schema version of");
  auto want = static_cast<int64_t>(steps.size());
  if (version > want)
    return caf::make_error(caf::sec::runtime_error,
                           path_ + " has schema version "
                             + std::to_string(version)
                             + ", newer than this server's "
                             + std::to_string(want));
  if (version == want)
    return txn->commit();
  for (auto i = version; i < want; ++i)
    if (auto err = exec(steps[static_cast<size_t>(i)].c_str()))
      return err;
  auto set = "DELETE FROM schema_version;"
             " INSERT INTO schema_version (version) VALUES ("
             + std::to_string(want) + ")";
  if (auto err = exec(set.c_str()))
    return err;
  return txn->commit();
}

caf::expected<sqlite3_stmt*> database::prepare(const std::string& sql) {
  auto& slot = stmts_[sql];
  if (slot == nullptr
      && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                            &slot, nullptr)
           != SQLITE_OK) {
    stmts_.erase(sql);
    return fail("cannot prepare a statement on");
  }
  return slot;
}

caf::expected<database::transaction> database::begin(bool write) {
  if (auto err = exec(write ? "BEGIN IMMEDIATE" : "BEGIN"))
    return err;
  return transaction{this};
}

database::transaction::~transaction() {
  if (db_ != nullptr)
    sqlite3_exec(db_->db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

caf::error database::transaction::commit() {
  if (db_ == nullptr)
    return {};
  if (sqlite3_exec(db_->db_, "COMMIT", nullptr, nullptr, nullptr)
      != SQLITE_OK)
    return db_->fail("cannot commit to"); // the destructor rolls back
  db_ = nullptr;
  return {};
}

stmt_guard::~stmt_guard() {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

void bind_blob(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
}

std::string column_blob(sqlite3_stmt* s, int i) {
  auto p = static_cast<const char*>(sqlite3_column_blob(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
}

} // namespace dja::plugins::sqlite
