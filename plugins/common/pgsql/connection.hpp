#pragma once

// The PostgreSQL layer shared by the *.pgsql plugins: one libpq connection
// owned by one detached plugin actor. Every call here blocks, but bounded:
// a connection attempt by connect_timeout, a statement by
// statement_timeout on the server and, should the server not answer at
// all, by our own wait for its answer (statement_timeout + 0.5 s, then the
// connection is dropped). README.md in this folder says why a detached
// actor and not libpq's asynchronous API throughout.
//
// What it gives a plugin:
//  - parameterized statements only (PQexecParams, text parameters; values
//    never spliced into SQL);
//  - transactions: run() wraps a unit of work in BEGIN ... COMMIT and
//    rolls back on any error;
//  - schema migration at connect: a plugin registers its numbered steps
//    under a component name; schema_version(component, version) records
//    how far a database is, and the steps run under an advisory lock so
//    plugins (or nodes) sharing one database never migrate at once;
//  - reconnect with back-off: a lost or refused connection is retried at
//    the next call after 250 ms, doubling up to 5 s; until then a call
//    fails at once (the vhost turns it into internal-server-error or
//    temporary-auth-failure). A unit of work that failed on a stale
//    connection before its COMMIT was sent is run once more on a fresh
//    one, so the first request after a database restart succeeds.
// Every failure is a caf::error carrying libpq's message; the DSN (which
// may hold a password) is never logged.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct pg_conn;
struct pg_result;

namespace dja::plugins::pgsql {

/// The rows of one statement (text format).
class result {
public:
  explicit result(pg_result* res);
  ~result();
  result(result&& other) noexcept;
  result& operator=(result&& other) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;

  int rows() const;
  int columns() const;
  std::string column_name(int col) const;
  /// Is column `col` a bytea (text form "\\x" + hex)?
  bool bytea(int col) const;
  /// Rows changed by an INSERT / UPDATE / DELETE.
  int64_t affected() const;
  bool null(int row, int col) const;
  std::string text(int row, int col) const;
  int64_t integer(int row, int col) const;
  bool boolean(int row, int col) const;

private:
  pg_result* res_;
};

/// One parameter list; every value is sent as text (PostgreSQL casts it
/// to the column's type). Binary data goes through encode(..., 'hex').
using params = std::vector<std::string>;

/// A unit of work in progress (see connection::run).
class session {
public:
  virtual ~session() = default;
  virtual caf::expected<result> exec(const char* sql, const params& ps = {})
    = 0;
};

/// One migration step: SQL run inside the migration transaction.
using migration = const char*;

struct settings {
  std::string dsn; ///< libpq connection string or URI
  std::string tag; ///< the plugin's name, for the log ("roster.pgsql")
  /// Upper bound of one statement (SET statement_timeout), below the
  /// vhost's plugin timeout so a stuck query becomes an error in time.
  std::chrono::milliseconds statement_timeout{4000};
  /// Upper bound of a connection attempt (libpq's connect_timeout, whole
  /// seconds, at least 2).
  int connect_timeout_s = 2;
};

class connection {
public:
  /// `component` names this plugin's rows in schema_version; steps[i]
  /// migrates version i to i + 1.
  connection(settings cfg, std::string component,
             std::vector<migration> steps);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Connects (and migrates) now unless connected; for start-up.
  caf::error connect();

  /// Runs `work` in one transaction; its error rolls back. See the top
  /// comment for reconnects and the one retry.
  caf::error run(const std::function<caf::error(session&)>& work);

  /// run() for a unit of work with a value.
  template <class T, class F>
  caf::expected<T> query(F&& work) {
    T out{};
    auto err = run([&](session& s) -> caf::error {
      auto r = work(s);
      if (!r)
        return std::move(r.error());
      out = std::move(*r);
      return {};
    });
    if (err)
      return err;
    return out;
  }

  bool up() const;

  static std::string hex(const std::string& bytes);
  static std::string unhex(const std::string& text);

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

/// Why `dsn` is not a usable libpq connection string ("" when it is).
std::string check_dsn(const std::string& dsn);

} // namespace dja::plugins::pgsql
