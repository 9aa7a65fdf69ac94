#include "plugins/mam/sqlite/store.hpp"

#include <limits>

#include <sqlite3.h>

#include "plugins/mam/common/sql.hpp"

namespace dja::plugins::sqlite_mam {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::stmt_guard;

const std::vector<std::string> steps{
  mam::sql::schema_v1("INTEGER PRIMARY KEY"), // 1: archives, preferences
  mam::sql::schema_v2,                        // 2: the id index, id first
};

constexpr const char* sql_insert
  = "INSERT OR IGNORE INTO mam_messages (domain, username, id, stamp,"
    " with_bare, with_resource, outgoing, stanza)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// $N -> ?N (sql.hpp writes PostgreSQL's placeholders).
std::string placeholders(std::string s) {
  for (auto& c : s)
    if (c == '$')
      c = '?';
  return s;
}

/// The cached statement of `st`, with its parameters bound. They are
/// bound SQLITE_STATIC: `st` must outlive the statement's use.
caf::expected<sqlite3_stmt*> prepare(sqlite::database& db,
                                     const mam::sql::statement& st) {
  auto s = db.prepare(placeholders(st.text));
  if (!s)
    return s.error();
  for (size_t i = 0; i < st.params.size(); ++i) {
    auto& p = st.params[i];
    if (p.integer)
      sqlite3_bind_int64(*s, static_cast<int>(i + 1), p.i);
    else
      bind_text(*s, static_cast<int>(i + 1), p.s);
  }
  return *s;
}

mam::sql::statement text_params(const char* sql,
                                std::vector<std::string> ps) {
  mam::sql::statement st{sql, {}};
  for (auto& p : ps)
    st.params.push_back({false, 0, std::move(p)});
  return st;
}

} // namespace

store::store(std::string domain, std::string path)
  : domain_(std::move(domain)), path_(std::move(path)) {
  // nop
}

caf::error store::start() {
  db_ = std::make_unique<sqlite::lazy_database>(path_, steps,
                                                "mam.sqlite: vhost " + domain_);
  auto db = db_->get();
  return db ? caf::error{} : db.error();
}

caf::error store::append(const mam::row* rows, size_t n) {
  auto db = db_->get();
  if (!db)
    return db.error();
  // WAL with synchronous = NORMAL: a commit is durable once the process
  // wrote it (a crash of the process loses nothing), and only an
  // operating-system crash loses the last commits, as it loses the
  // batch still in memory; the archive's one thread no longer waits an
  // fsync per batch. Set on every (re)opened connection.
  // A page cache of 32 MiB (SQLite's default is 2 MiB): the two indexes
  // of a busy archive stay in memory instead of being read back with a
  // system call per page for every batch.
  // A checkpoint every 10,000 pages of WAL (40 MB; SQLite's default is
  // 1,000): a page changed by several batches is copied back to the
  // database file once, and the checkpoint's fsync comes ten times less
  // often; the WAL file is cut back to 64 MB after it.
  if (*db != tuned_) {
    if (auto err = (*db)->exec("PRAGMA synchronous = NORMAL"))
      return err;
    if (auto err = (*db)->exec("PRAGMA cache_size = -32768"))
      return err;
    if (auto err = (*db)->exec("PRAGMA wal_autocheckpoint = 10000"))
      return err;
    if (auto err = (*db)->exec("PRAGMA journal_size_limit = 67108864"))
      return err;
    tuned_ = *db;
  }
  auto ins = (*db)->prepare(sql_insert);
  if (!ins)
    return ins.error();
  auto txn = (*db)->begin(true);
  if (!txn)
    return txn.error();
  for (size_t i = 0; i < n; ++i) {
    auto& r = rows[i];
    stmt_guard g{*ins};
    bind_text(*ins, 1, domain_);
    bind_text(*ins, 2, r.user);
    bind_text(*ins, 3, r.id);
    sqlite3_bind_int64(*ins, 4, r.stamp_us);
    bind_text(*ins, 5, r.with_bare);
    bind_text(*ins, 6, r.with_resource);
    sqlite3_bind_int(*ins, 7, r.outgoing ? 1 : 0);
    bind_text(*ins, 8, r.stanza);
    if (sqlite3_step(*ins) != SQLITE_DONE)
      return (*db)->fail("cannot write to");
  }
  return txn->commit();
}

caf::expected<std::optional<int64_t>>
store::seq_of(const std::string& user, const std::string& id) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto st = text_params(mam::sql::seq_of, {domain_, user, id});
  auto s = prepare(**db, st);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_ROW)
    return std::optional<int64_t>{sqlite3_column_int64(*s, 0)};
  if (rc != SQLITE_DONE)
    return (*db)->fail("cannot read");
  return std::optional<int64_t>{};
}

caf::expected<std::vector<mam::row>>
store::select(const std::string& user, const mam::filter& f, int64_t limit,
              bool backward, int64_t offset) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto st = mam::sql::select(domain_, user, f, limit, backward, offset);
  auto s = prepare(**db, st);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  std::vector<mam::row> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW) {
    mam::row r;
    r.seq = sqlite3_column_int64(*s, 0);
    r.user = user;
    r.id = column_text(*s, 1);
    r.stamp_us = sqlite3_column_int64(*s, 2);
    r.with_bare = column_text(*s, 3);
    r.with_resource = column_text(*s, 4);
    r.outgoing = sqlite3_column_int(*s, 5) != 0;
    r.stanza = column_text(*s, 6);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE)
    return (*db)->fail("cannot read");
  return out;
}

caf::expected<int64_t> store::count(const std::string& user,
                                    const mam::filter& f) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto st = mam::sql::count(domain_, user, f);
  auto s = prepare(**db, st);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  if (sqlite3_step(*s) != SQLITE_ROW)
    return (*db)->fail("cannot read");
  return sqlite3_column_int64(*s, 0);
}

caf::expected<std::optional<std::string>>
store::get_prefs(const std::string& user) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto st = text_params(mam::sql::prefs_get, {domain_, user});
  auto s = prepare(**db, st);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_ROW)
    return std::optional<std::string>{column_text(*s, 0)};
  if (rc != SQLITE_DONE)
    return (*db)->fail("cannot read");
  return std::optional<std::string>{};
}

caf::error store::set_prefs(const std::string& user,
                            const std::string& prefs) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto st = text_params(mam::sql::prefs_set, {domain_, user, prefs});
  auto s = prepare(**db, st);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  if (sqlite3_step(*s) != SQLITE_DONE)
    return (*db)->fail("cannot write to");
  return {};
}

caf::expected<int64_t> store::prune(int64_t before_us, int64_t max_per_user) {
  auto db = db_->get();
  if (!db)
    return db.error();
  auto txn = (*db)->begin(true);
  if (!txn)
    return txn.error();
  int64_t n = 0;
  auto run = [&](const mam::sql::statement& st) -> caf::error {
    auto s = prepare(**db, st);
    if (!s)
      return s.error();
    stmt_guard g{*s};
    if (sqlite3_step(*s) != SQLITE_DONE)
      return (*db)->fail("cannot write to");
    n += sqlite3_changes((*db)->handle());
    return {};
  };
  if (before_us != std::numeric_limits<int64_t>::min()) {
    mam::sql::statement st{mam::sql::prune_old, {}};
    st.params.push_back({false, 0, domain_});
    st.params.push_back({true, before_us, {}});
    if (auto err = run(st))
      return err;
  }
  if (max_per_user > 0) {
    mam::sql::statement q{mam::sql::over_quota, {}};
    q.params.push_back({false, 0, domain_});
    q.params.push_back({true, max_per_user, {}});
    std::vector<std::string> users;
    {
      auto s = prepare(**db, q);
      if (!s)
        return s.error();
      stmt_guard g{*s};
      while (sqlite3_step(*s) == SQLITE_ROW)
        users.push_back(column_text(*s, 0));
    }
    for (auto& u : users) {
      mam::sql::statement st{mam::sql::prune_user, {}};
      st.params.push_back({false, 0, domain_});
      st.params.push_back({false, 0, u});
      st.params.push_back({true, max_per_user, {}});
      if (auto err = run(st))
        return err;
    }
  }
  if (auto err = txn->commit())
    return err;
  return n;
}

} // namespace dja::plugins::sqlite_mam
