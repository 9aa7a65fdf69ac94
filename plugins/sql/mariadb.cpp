// The MariaDB / MySQL driver of the `sql` plugin (plugins/sql/driver.hpp)
// over libmariadb's prepared statements (mysql_stmt_*): every value is a
// bound MYSQL_TYPE_STRING parameter, never part of the SQL text. Bounds:
// connect, read and write timeouts of query_timeout_ms (whole seconds, at
// least 1) and, on MariaDB, max_statement_time on the server. A failed
// call drops the connection and its statements; the next call connects
// again, and a call that met a connection gone stale while idle is run
// once more on a fresh one (a database restart costs no request). The
// DSN is `key=value` words: host, port, socket, user, password, dbname.

#include <cmath>
#include <sstream>
#include <unordered_map>

#include <errmsg.h>
#include <mysql.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "plugins/sql/driver.hpp"

namespace dja::plugins::sql {

namespace {

struct dsn_parts {
  std::string host, socket, user, password, dbname;
  unsigned port = 0;
};

/// Parses `dsn` into `out`; the error text, "" when it parses.
std::string parse_dsn(const std::string& dsn, dsn_parts& out) {
  std::istringstream in{dsn};
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq == std::string::npos)
      return "key=value words (got \"" + word + "\")";
    auto key = word.substr(0, eq);
    auto value = word.substr(eq + 1);
    if (key == "host")
      out.host = value;
    else if (key == "port")
      out.port = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr,
                                                    10));
    else if (key == "socket" || key == "unix_socket")
      out.socket = value;
    else if (key == "user")
      out.user = value;
    else if (key == "password")
      out.password = value;
    else if (key == "dbname" || key == "database")
      out.dbname = value;
    else
      return "keys host, port, socket, user, password, dbname (got " + key
             + ")";
  }
  return {};
}

class mariadb_connection : public connection {
public:
  explicit mariadb_connection(connection_settings cfg)
    : cfg_(std::move(cfg)) {
    // nop
  }

  ~mariadb_connection() override {
    close();
  }

  caf::expected<rows> run(const query& q,
                          const std::vector<std::string>& values) override {
    bool fresh = db_ == nullptr;
    auto res = attempt(q, values);
    // A connection that went away while idle: once more on a new one.
    if (!res && !fresh && (last_errno_ == CR_SERVER_GONE_ERROR
                           || last_errno_ == CR_SERVER_LOST))
      res = attempt(q, values);
    return res;
  }

private:
  caf::error fail(const std::string& what, MYSQL_STMT* s = nullptr) {
    last_errno_ = s ? mysql_stmt_errno(s) : db_ ? mysql_errno(db_) : 0;
    std::string msg = s    ? mysql_stmt_error(s)
                      : db_ ? mysql_error(db_)
                            : "no connection";
    close(); // the next call starts afresh
    return caf::make_error(caf::sec::runtime_error,
                           "mariadb: " + what + ": " + msg);
  }

  caf::error open() {
    if (db_ != nullptr)
      return {};
    dsn_parts d;
    if (auto err = parse_dsn(cfg_.target, d); !err.empty())
      return caf::make_error(caf::sec::runtime_error, "mariadb dsn: " + err);
    db_ = mysql_init(nullptr);
    if (db_ == nullptr)
      return caf::make_error(caf::sec::runtime_error, "mysql_init failed");
    unsigned secs = std::max<unsigned>(
      1, static_cast<unsigned>(std::ceil(cfg_.timeout.count() / 1000.0)));
    mysql_options(db_, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(db_, MYSQL_OPT_READ_TIMEOUT, &secs);
    mysql_options(db_, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    mysql_options(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(db_, d.host.empty() ? nullptr : d.host.c_str(),
                           d.user.c_str(), d.password.c_str(),
                           d.dbname.empty() ? nullptr : d.dbname.c_str(),
                           d.port,
                           d.socket.empty() ? nullptr : d.socket.c_str(), 0)
        == nullptr)
      return fail("cannot connect");
    // MariaDB's own bound of a statement (MySQL has none by this name:
    // the client's read timeout still holds).
    auto set = "SET SESSION max_statement_time = " + std::to_string(secs);
    mysql_real_query(db_, set.c_str(), set.size());
    return {};
  }

  void close() {
    for (auto& [_, s] : stmts_)
      mysql_stmt_close(s);
    stmts_.clear();
    if (db_ != nullptr)
      mysql_close(db_);
    db_ = nullptr;
  }

  caf::expected<MYSQL_STMT*> prepare(const std::string& sql) {
    if (auto i = stmts_.find(sql); i != stmts_.end())
      return i->second;
    auto s = mysql_stmt_init(db_);
    if (s == nullptr)
      return fail("mysql_stmt_init");
    if (mysql_stmt_prepare(s, sql.c_str(), sql.size()) != 0) {
      auto err = fail("cannot prepare a query", s);
      mysql_stmt_close(s);
      return err;
    }
    stmts_.emplace(sql, s);
    return s;
  }

  caf::expected<rows> attempt(const query& q,
                              const std::vector<std::string>& values) {
    last_errno_ = 0;
    if (auto err = open())
      return err;
    auto prepared = prepare(q.text);
    if (!prepared)
      return prepared.error();
    auto s = *prepared;
    std::vector<MYSQL_BIND> params(values.size());
    std::vector<unsigned long> lengths(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      lengths[i] = values[i].size();
      params[i] = MYSQL_BIND{};
      params[i].buffer_type = MYSQL_TYPE_STRING;
      params[i].buffer = const_cast<char*>(values[i].data());
      params[i].buffer_length = lengths[i];
      params[i].length = &lengths[i];
    }
    if (!params.empty() && mysql_stmt_bind_param(s, params.data()) != 0)
      return fail("cannot bind", s);
    if (mysql_stmt_execute(s) != 0)
      return fail("cannot run a query", s);
    rows out;
    out.affected = static_cast<int64_t>(mysql_stmt_affected_rows(s));
    auto meta = mysql_stmt_result_metadata(s);
    if (meta == nullptr)
      return out; // a write
    auto n = mysql_num_fields(meta);
    auto fields = mysql_fetch_fields(meta);
    for (unsigned c = 0; c < n; ++c)
      out.columns.emplace_back(fields[c].name);
    mysql_free_result(meta);
    if (mysql_stmt_store_result(s) != 0)
      return fail("cannot read a result", s);
    // Lengths first (buffer_length 0), then each column at its size.
    std::vector<MYSQL_BIND> cols(n);
    std::vector<unsigned long> lens(n);
    std::vector<my_bool> nulls(n);
    for (unsigned c = 0; c < n; ++c) {
      cols[c] = MYSQL_BIND{};
      cols[c].buffer_type = MYSQL_TYPE_STRING;
      cols[c].length = &lens[c];
      cols[c].is_null = &nulls[c];
    }
    if (mysql_stmt_bind_result(s, cols.data()) != 0)
      return fail("cannot bind a result", s);
    int rc;
    while ((rc = mysql_stmt_fetch(s)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
      row r;
      for (unsigned c = 0; c < n; ++c) {
        if (nulls[c]) {
          r.emplace_back();
          continue;
        }
        std::string v(lens[c], '\0');
        if (lens[c] > 0) {
          MYSQL_BIND b{};
          b.buffer_type = MYSQL_TYPE_STRING;
          b.buffer = v.data();
          b.buffer_length = lens[c];
          if (mysql_stmt_fetch_column(s, &b, c, 0) != 0)
            return fail("cannot read a column", s);
        }
        r.emplace_back(std::move(v));
      }
      out.data.push_back(std::move(r));
    }
    if (rc != MYSQL_NO_DATA)
      return fail("cannot fetch a row", s);
    mysql_stmt_free_result(s);
    return out;
  }

  connection_settings cfg_;
  MYSQL* db_ = nullptr;
  unsigned last_errno_ = 0;
  std::unordered_map<std::string, MYSQL_STMT*> stmts_;
};

} // namespace

std::unique_ptr<connection> open_mariadb(const connection_settings& cfg) {
  return std::make_unique<mariadb_connection>(cfg);
}

std::string check_mariadb_dsn(const std::string& dsn) {
  dsn_parts d;
  return parse_dsn(dsn, d);
}

} // namespace dja::plugins::sql
