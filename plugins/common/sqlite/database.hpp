#pragma once

// The SQLite layer shared by the SQLite storage plugins (auth.sqlite,
// roster.sqlite, vcard.sqlite, private.sqlite, last): one database file,
// opened once per plugin actor (which runs detached: every call here
// blocks). What each of them used to carry on its own:
//
//  - the file is created with mode 0600 (it may hold SCRAM keys or private
//    data; SQLite gives its -wal / -shm files the same mode);
//  - WAL journal, synchronous = FULL (a commit is fsync'd), a 5 s busy
//    timeout, extended result codes;
//  - schema migration at open: schema_version(version INTEGER) holds one
//    row; steps[i] (SQL, possibly several statements) migrates version i
//    to i + 1, all in one BEGIN IMMEDIATE transaction; a file newer than
//    the code is an error;
//  - prepared statements cached for the life of the database;
//  - transactions rolled back unless committed;
//  - every failure a caf::error carrying the file name and SQLite's
//    message.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace dja::plugins::sqlite {

class database {
public:
  /// Opens (creating if needed) and migrates the database at `path`.
  static caf::expected<std::unique_ptr<database>>
  open(const std::string& path, const std::vector<std::string>& steps);

  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  sqlite3* handle() const {
    return db_;
  }

  /// `what` + the file + SQLite's last message, as a caf::error.
  caf::error fail(const char* what) const;

  /// Runs SQL without results (one or more statements).
  caf::error exec(const char* sql);

  /// The cached prepared statement for `sql` (prepared on first use).
  caf::expected<sqlite3_stmt*> prepare(const std::string& sql);

  /// A transaction that rolls back unless commit() succeeded.
  class transaction {
  public:
    explicit transaction(database* db) : db_(db) {
      // nop
    }
    transaction(transaction&& other) noexcept : db_(other.db_) {
      other.db_ = nullptr;
    }
    transaction& operator=(transaction&&) = delete;
    ~transaction();
    caf::error commit();

  private:
    database* db_;
  };

  /// BEGIN IMMEDIATE (a write) or BEGIN (a read snapshot).
  caf::expected<transaction> begin(bool write);

private:
  database() = default;
  caf::error migrate(const std::vector<std::string>& steps);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

/// Resets a cached statement (and drops its bindings) on scope exit.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard();
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v);
void bind_blob(sqlite3_stmt* s, int i, const std::string& v);
std::string column_text(sqlite3_stmt* s, int i);
std::string column_blob(sqlite3_stmt* s, int i);

} // namespace dja::plugins::sqlite
