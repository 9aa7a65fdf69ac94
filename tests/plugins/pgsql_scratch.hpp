#pragma once

// A PostgreSQL database for the store tests: DJA_TEST_PGSQL_DSN names it
// (tests/e2e/test_pgsql_store_units.py sets it to a fresh database of a
// private server); without it the *.pgsql cases are skipped. scratch()
// drops every table, so each case starts as on a new database.

#include <cstdlib>
#include <string>

#include <libpq-fe.h>

namespace dja::test {

/// The DSN of the scratch database, "" when there is none.
inline std::string pgsql_dsn() {
  auto dsn = std::getenv("DJA_TEST_PGSQL_DSN");
  return dsn != nullptr ? dsn : "";
}

/// Drops every table of the public schema; false when that failed.
inline bool pgsql_scratch(const std::string& dsn) {
  auto conn = PQconnectdb(dsn.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    auto res = PQexec(conn, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
  }
  PQfinish(conn);
  return ok;
}

} // namespace dja::test
