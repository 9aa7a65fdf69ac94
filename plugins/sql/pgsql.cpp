// The PostgreSQL driver of the `sql` plugin (plugins/sql/driver.hpp), over
// the libpq layer the *.pgsql plugins share (plugins/common/pgsql): its
// bounded connects and statements (statement_timeout = query_timeout_ms),
// reconnect with back-off, and text parameters (PQexecParams), with no
// migration of the operator's database. bytea columns come back as their
// raw bytes (an avatar blob for {photo|base64}).

#include "plugins/common/pgsql/connection.hpp"
#include "plugins/sql/driver.hpp"

namespace dja::plugins::sql {

namespace {

class pgsql_connection : public connection {
public:
  explicit pgsql_connection(const connection_settings& cfg)
    : conn_(settings_of(cfg), "sql", {}) {
    // nop
  }

  caf::expected<rows> run(const query& q,
                          const std::vector<std::string>& values) override {
    return conn_.query<rows>(
      [&](pgsql::session& s) -> caf::expected<rows> {
        auto res = s.exec(q.text.c_str(), values);
        if (!res)
          return res.error();
        rows out;
        for (int c = 0; c < res->columns(); ++c)
          out.columns.push_back(res->column_name(c));
        for (int r = 0; r < res->rows(); ++r) {
          row x;
          for (int c = 0; c < res->columns(); ++c) {
            if (res->null(r, c)) {
              x.emplace_back();
              continue;
            }
            auto text = res->text(r, c);
            if (res->bytea(c) && text.rfind("\\x", 0) == 0)
              text = pgsql::connection::unhex(text.substr(2));
            x.emplace_back(std::move(text));
          }
          out.data.push_back(std::move(x));
        }
        out.affected = res->affected();
        return out;
      });
  }

private:
  static pgsql::settings settings_of(const connection_settings& cfg) {
    pgsql::settings s;
    s.dsn = cfg.target;
    s.tag = cfg.tag;
    s.statement_timeout = cfg.timeout;
    return s;
  }

  pgsql::connection conn_;
};

} // namespace

std::unique_ptr<connection> open_pgsql(const connection_settings& cfg) {
  return std::make_unique<pgsql_connection>(cfg);
}

} // namespace dja::plugins::sql
