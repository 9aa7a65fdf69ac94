// The SQLite driver of the `sql` plugin (plugins/sql/driver.hpp): the
// operator's own database file, opened read-write but never created (a
// missing file is an error, not an empty database) and never migrated.
// Statements are prepared once and cached; values are bound with
// sqlite3_bind_text. The busy timeout is the query timeout.

#include <unordered_map>

#include <sqlite3.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "plugins/sql/driver.hpp"

namespace dja::plugins::sql {

namespace {

class sqlite_connection : public connection {
public:
  explicit sqlite_connection(connection_settings cfg) : cfg_(std::move(cfg)) {
    // nop
  }

  ~sqlite_connection() override {
    close();
  }

  caf::expected<rows> run(const query& q,
                          const std::vector<std::string>& values) override {
    if (auto err = open())
      return err;
    auto s = prepare(q.text);
    if (!s)
      return s.error();
    struct reset {
      sqlite3_stmt* s;
      ~reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } guard{*s};
    for (size_t i = 0; i < values.size(); ++i)
      sqlite3_bind_text(*s, static_cast<int>(i + 1), values[i].data(),
                        static_cast<int>(values[i].size()), SQLITE_TRANSIENT);
    rows out;
    auto n = sqlite3_column_count(*s);
    for (int c = 0; c < n; ++c)
      out.columns.emplace_back(sqlite3_column_name(*s, c));
    int rc;
    while ((rc = sqlite3_step(*s)) == SQLITE_ROW) {
      row r;
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(*s, c) == SQLITE_NULL) {
          r.emplace_back();
          continue;
        }
        auto p = static_cast<const char*>(sqlite3_column_blob(*s, c));
        auto len = sqlite3_column_bytes(*s, c);
        r.emplace_back(std::string{p == nullptr ? "" : p,
                                   static_cast<size_t>(len)});
      }
      out.data.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE)
      return fail("cannot run a query on");
    out.affected = sqlite3_changes(db_);
    return out;
  }

private:
  caf::error fail(const char* what) {
    return caf::make_error(caf::sec::runtime_error,
                           std::string{what} + " " + cfg_.target + ": "
                             + (db_ ? sqlite3_errmsg(db_) : "no database"));
  }

  caf::error open() {
    if (db_ != nullptr)
      return {};
    // SQLITE_OPEN_READWRITE without CREATE: the site's file must exist.
    auto rc = sqlite3_open_v2(cfg_.target.c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    if (rc != SQLITE_OK) {
      auto err = fail("cannot open");
      close();
      return err;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(cfg_.timeout.count()));
    return {};
  }

  void close() {
    for (auto& [_, s] : stmts_)
      sqlite3_finalize(s);
    stmts_.clear();
    if (db_ != nullptr)
      sqlite3_close(db_);
    db_ = nullptr;
  }

  caf::expected<sqlite3_stmt*> prepare(const std::string& sql) {
    if (auto i = stmts_.find(sql); i != stmts_.end())
      return i->second;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return fail("cannot prepare a query on");
    stmts_.emplace(sql, s);
    return s;
  }

  connection_settings cfg_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

} // namespace

std::unique_ptr<connection> open_sqlite(const connection_settings& cfg) {
  return std::make_unique<sqlite_connection>(cfg);
}

} // namespace dja::plugins::sql
