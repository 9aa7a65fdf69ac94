#include "plugins/common/pgsql/connection.hpp"

#include <algorithm>
#include <cstdlib>

#include <libpq-fe.h>
#include <poll.h>

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

namespace dja::plugins::pgsql {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds first_backoff{250};
constexpr milliseconds max_backoff{5000};
/// How long past statement_timeout we wait for the server's answer (its
/// own "canceling statement due to statement timeout" error) before we
/// give up on the connection.
constexpr milliseconds answer_grace{500};
/// pg_advisory_xact_lock key serializing migrations ("dja" in ASCII).
constexpr const char* migration_lock = "SELECT pg_advisory_xact_lock(6646369)";

caf::error fail(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// libpq's messages end with a newline (and may span lines).
std::string message(const char* msg) {
  std::string s = msg != nullptr ? msg : "unknown error";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

/// libpq prints server notices (e.g. "relation ... already exists,
/// skipping") on standard error by default; they go to the debug log.
void log_notice(void* tag, const char* msg) {
  spdlog::debug("{}: {}", *static_cast<const std::string*>(tag),
                message(msg));
}

} // namespace

// --- result -----------------------------------------------------------------

result::result(pg_result* res) : res_(res) {
  // nop
}

result::~result() {
  PQclear(res_);
}

result::result(result&& other) noexcept : res_(other.res_) {
  other.res_ = nullptr;
}

result& result::operator=(result&& other) noexcept {
  std::swap(res_, other.res_);
  return *this;
}

int result::columns() const {
  return PQnfields(res_);
}

std::string result::column_name(int col) const {
  return PQfname(res_, col);
}

bool result::bytea(int col) const {
  return PQftype(res_, col) == 17; // BYTEAOID (catalog/pg_type_d.h)
}

int result::rows() const {
  return PQntuples(res_);
}

int64_t result::affected() const {
  return std::strtoll(PQcmdTuples(res_), nullptr, 10);
}

bool result::null(int row, int col) const {
  return PQgetisnull(res_, row, col) != 0;
}

std::string result::text(int row, int col) const {
  return {PQgetvalue(res_, row, col),
          static_cast<size_t>(PQgetlength(res_, row, col))};
}

int64_t result::integer(int row, int col) const {
  return std::strtoll(PQgetvalue(res_, row, col), nullptr, 10);
}

bool result::boolean(int row, int col) const {
  return PQgetvalue(res_, row, col)[0] == 't';
}

// --- connection ---------------------------------------------------------------

class connection::impl : public session {
public:
  impl(settings cfg, std::string component, std::vector<migration> steps)
    : cfg_(std::move(cfg)),
      component_(std::move(component)),
      steps_(std::move(steps)) {
    // nop
  }

  ~impl() override {
    drop();
  }

  caf::expected<result> exec(const char* sql, const params& ps) override {
    return send(sql, &ps);
  }

  /// A statement without parameters or rows; a migration step may hold
  /// several (the simple query protocol allows that, the extended not).
  caf::error script(const char* sql) {
    auto r = send(sql, nullptr);
    return r ? caf::error{} : r.error();
  }

  /// Sends one query and waits for its result at most statement_timeout
  /// plus a grace period: a server that stops answering (frozen, or a
  /// network gone silent) costs one bounded wait, then the connection is
  /// dropped, instead of blocking this actor for good.
  caf::expected<result> send(const char* sql, const params* ps) {
    if (conn_ == nullptr)
      return fail("not connected");
    int sent;
    if (ps != nullptr) {
      std::vector<const char*> values;
      values.reserve(ps->size());
      for (auto& p : *ps)
        values.push_back(p.c_str());
      sent = PQsendQueryParams(conn_, sql, static_cast<int>(values.size()),
                               nullptr, values.data(), nullptr, nullptr, 0);
    } else {
      sent = PQsendQuery(conn_, sql);
    }
    if (sent == 0)
      return broken(message(PQerrorMessage(conn_)));
    auto deadline = clock_type::now() + cfg_.statement_timeout + answer_grace;
    pg_result* res = nullptr; // the first error, else the last result
    for (;;) {
      while (PQisBusy(conn_) != 0) {
        auto left = std::chrono::duration_cast<milliseconds>(
          deadline - clock_type::now());
        pollfd pfd{PQsocket(conn_), POLLIN, 0};
        if (left.count() <= 0
            || ::poll(&pfd, 1, static_cast<int>(left.count())) == 0) {
          PQclear(res);
          hung_ = true;
          return broken("no answer within "
                        + std::to_string((cfg_.statement_timeout
                                          + answer_grace)
                                           .count())
                        + " ms");
        }
        if (PQconsumeInput(conn_) == 0)
          break;
      }
      auto next = PQgetResult(conn_);
      if (next == nullptr)
        break;
      auto st = PQresultStatus(next);
      bool failed = st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
      if (res == nullptr
          || (failed && (PQresultStatus(res) == PGRES_COMMAND_OK
                         || PQresultStatus(res) == PGRES_TUPLES_OK))) {
        PQclear(res);
        res = next;
      } else {
        PQclear(next);
      }
      if (PQstatus(conn_) == CONNECTION_BAD)
        break;
    }
    auto st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
      return result{res};
    auto msg = message(res != nullptr ? PQresultErrorMessage(res)
                                      : PQerrorMessage(conn_));
    PQclear(res);
    if (PQstatus(conn_) == CONNECTION_BAD)
      lost_ = true;
    return fail(std::move(msg));
  }

  /// The connection cannot be used any more.
  caf::error broken(std::string msg) {
    lost_ = true;
    return fail(std::move(msg));
  }

  caf::error open(bool now) {
    if (conn_ != nullptr)
      return {};
    auto t = clock_type::now();
    if (!now && t < next_try_)
      return fail("database unavailable (next connection attempt in "
                  + std::to_string(std::chrono::duration_cast<milliseconds>(
                                     next_try_ - t)
                                     .count())
                  + " ms)");
    // Defaults first: with expand_dbname, the DSN's own values override
    // the keywords before "dbname".
    auto timeout = std::to_string(std::max(2, cfg_.connect_timeout_s));
    const char* keys[] = {"connect_timeout", "application_name",
                          "client_encoding", "dbname", nullptr};
    const char* vals[] = {timeout.c_str(), "djabberd-actors", "UTF8",
                          cfg_.dsn.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, vals, 1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      auto msg = message(conn_ != nullptr ? PQerrorMessage(conn_)
                                          : "out of memory");
      return refused("cannot connect: " + msg);
    }
    PQsetNoticeProcessor(conn_, log_notice, &cfg_.tag);
    lost_ = false;
    auto ms = std::to_string(cfg_.statement_timeout.count());
    auto set = exec("SELECT set_config('statement_timeout', $1, false)",
                    {ms});
    if (!set)
      return refused("cannot set statement_timeout: "
                     + caf::to_string(set.error()));
    if (auto err = migrate())
      return refused("cannot migrate the schema: " + caf::to_string(err));
    if (down_)
      spdlog::info("{}: connected to the database again", cfg_.tag);
    else
      spdlog::debug("{}: connected to database {} on {}", cfg_.tag,
                    PQdb(conn_), PQhost(conn_));
    down_ = false;
    backoff_ = first_backoff;
    return {};
  }

  caf::error run(const std::function<caf::error(session&)>& work) {
    for (int attempt = 0;; ++attempt) {
      bool fresh = conn_ == nullptr;
      if (auto err = open(attempt > 0))
        return err;
      lost_ = false;
      hung_ = false;
      bool commit_sent = false;
      auto err = script("BEGIN");
      if (!err) {
        err = work(*this);
        if (!err && lost_)
          err = fail("connection lost");
        if (!err) {
          commit_sent = true;
          err = script("COMMIT");
        }
      }
      if (!err)
        return {};
      if (!lost_) {
        script("ROLLBACK");
        if (lost_)
          drop();
        return err;
      }
      drop();
      // The server rolled back what it had; unless COMMIT went out (the
      // outcome is then unknown), a stale connection gets one more try.
      if (attempt == 0 && !fresh && !commit_sent && !hung_) {
        spdlog::info("{}: database connection lost ({}); reconnecting",
                     cfg_.tag, caf::to_string(err));
        continue;
      }
      went_down(caf::to_string(err));
      return err;
    }
  }

  bool up() const {
    return conn_ != nullptr;
  }

private:
  caf::error migrate() {
    // No steps (the `sql` plugin on an operator's own database): nothing
    // of ours to create, not even schema_version.
    if (steps_.empty())
      return {};
    if (auto err = script("BEGIN"))
      return err;
    auto err = [this]() -> caf::error {
      if (auto err = script(migration_lock))
        return err;
      if (auto err = script("CREATE TABLE IF NOT EXISTS schema_version ("
                            " component TEXT PRIMARY KEY,"
                            " version INTEGER NOT NULL)"))
        return err;
      auto v = exec("SELECT version FROM schema_version WHERE component = $1",
                    {component_});
      if (!v)
        return v.error();
      auto have = v->rows() > 0 ? v->integer(0, 0) : 0;
      auto want = static_cast<int64_t>(steps_.size());
      if (have > want)
        return fail("schema_version of " + component_ + " is "
                    + std::to_string(have) + ", newer than this server's "
                    + std::to_string(want));
      for (auto i = have; i < want; ++i)
        if (auto err = script(steps_[static_cast<size_t>(i)]))
          return err;
      if (have == want)
        return {};
      auto put = exec("INSERT INTO schema_version (component, version)"
                      " VALUES ($1, $2) ON CONFLICT (component)"
                      " DO UPDATE SET version = EXCLUDED.version",
                      {component_, std::to_string(want)});
      if (!put)
        return put.error();
      spdlog::info("{}: schema {} migrated from version {} to {}", cfg_.tag,
                   component_, have, want);
      return {};
    }();
    if (err) {
      script("ROLLBACK");
      return err;
    }
    return script("COMMIT");
  }

  /// A failed connection attempt: drop it and wait before the next.
  caf::error refused(std::string what) {
    drop();
    went_down(what);
    return fail(std::move(what));
  }

  void went_down(const std::string& why) {
    next_try_ = clock_type::now() + backoff_;
    spdlog::warn("{}: database unavailable: {}; next attempt in {} ms",
                 cfg_.tag, why, backoff_.count());
    backoff_ = std::min(backoff_ * 2, max_backoff);
    down_ = true;
  }

  void drop() {
    if (conn_ != nullptr)
      PQfinish(conn_);
    conn_ = nullptr;
  }

  settings cfg_;
  std::string component_;
  std::vector<migration> steps_;
  pg_conn* conn_ = nullptr;
  bool lost_ = false; ///< the last statement found the connection broken
  bool hung_ = false; ///< ... because the server did not answer in time
  bool down_ = false; ///< the last attempt failed (log the recovery)
  clock_type::time_point next_try_{};
  milliseconds backoff_{first_backoff};
};

connection::connection(settings cfg, std::string component,
                       std::vector<migration> steps)
  : impl_(std::make_unique<impl>(std::move(cfg), std::move(component),
                                 std::move(steps))) {
  // nop
}

connection::~connection() = default;

caf::error connection::connect() {
  return impl_->open(true);
}

caf::error connection::run(const std::function<caf::error(session&)>& work) {
  return impl_->run(work);
}

bool connection::up() const {
  return impl_->up();
}

std::string connection::hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string connection::unhex(const std::string& text) {
  auto val = [](char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    auto hi = val(text[i]);
    auto lo = val(text[i + 1]);
    if (hi < 0 || lo < 0)
      return {};
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string check_dsn(const std::string& dsn) {
  if (dsn.empty())
    return "a libpq connection string (\"host=... dbname=...\" or "
           "\"postgresql://...\"), not empty";
  char* err = nullptr;
  auto opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err != nullptr ? message(err) : "out of memory";
    PQfreemem(err);
    return "a libpq connection string (" + why + ")";
  }
  PQconninfoFree(opts);
  return {};
}

} // namespace dja::plugins::pgsql
