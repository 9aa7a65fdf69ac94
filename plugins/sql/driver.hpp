#pragma once

// The small interface the `sql` plugin runs its queries through, one
// implementation per database library: SQLite (sqlite3), PostgreSQL
// (libpq, over plugins/common/pgsql) and MariaDB/MySQL (libmariadb).
// A connection belongs to one detached worker actor, so every call may
// block, bounded by the query timeout. A failure is a caf::error; a lost
// connection is opened again at a later call. The operator's database is
// never created nor migrated: the plugin only runs the queries it is
// given, with every value bound as a parameter.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "plugins/sql/query.hpp"

namespace dja::plugins::sql {

/// One row: a value per column, nullopt for NULL; binary columns (BLOB,
/// bytea) as their raw bytes.
using row = std::vector<std::optional<std::string>>;

/// What a statement returned.
struct rows {
  std::vector<std::string> columns; ///< names, as the query says them
  std::vector<row> data;
  int64_t affected = 0; ///< rows changed by a write

  /// The index of `column` (case-insensitive), or -1.
  int index(const std::string& column) const;

  /// The value of `column` (or of column number `fallback` when no column
  /// has that name) in row `row`; nullopt for NULL or no such cell.
  std::optional<std::string> cell(const std::string& column,
                                  int fallback = -1, size_t row = 0) const;
};

class connection {
public:
  virtual ~connection() = default;

  /// Runs `q` with `values` (one per q.params, in order).
  virtual caf::expected<rows> run(const query& q,
                                  const std::vector<std::string>& values)
    = 0;
};

/// Where and how to connect.
struct connection_settings {
  std::string tag;    ///< for the log: "sql: vhost D"
  std::string target; ///< SQLite file path, libpq DSN or MariaDB DSN
  std::chrono::milliseconds timeout{4000}; ///< per query
};

std::unique_ptr<connection> open_sqlite(const connection_settings& cfg);
std::unique_ptr<connection> open_pgsql(const connection_settings& cfg);
std::unique_ptr<connection> open_mariadb(const connection_settings& cfg);

/// Why `dsn` is not a MariaDB DSN ("" when it is): `key=value` pairs
/// (host, port, socket, user, password, dbname).
std::string check_mariadb_dsn(const std::string& dsn);

} // namespace dja::plugins::sql
