#include "plugins/blocking/sqlite/store.hpp"

#include <sqlite3.h>

namespace dja::plugins::sqlite_blocking {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::stmt_guard;

namespace {

/// Migration steps (plugins/common/sqlite): steps[i] takes version i to i+1.
const std::vector<std::string> steps = {R"(
CREATE TABLE blocked_jids (
  domain   TEXT NOT NULL,
  username TEXT NOT NULL,
  item     TEXT NOT NULL,
  PRIMARY KEY (domain, username, item)
) WITHOUT ROWID;
)"};

constexpr const char* sql_list = "SELECT item FROM blocked_jids"
                                 " WHERE domain = ?1 AND username = ?2"
                                 " ORDER BY item";
constexpr const char* sql_add = "INSERT OR IGNORE INTO blocked_jids"
                                " (domain, username, item) VALUES (?1, ?2, ?3)";
constexpr const char* sql_remove = "DELETE FROM blocked_jids WHERE domain = ?1"
                                   " AND username = ?2 AND item = ?3";
constexpr const char* sql_remove_all = "DELETE FROM blocked_jids"
                                       " WHERE domain = ?1 AND username = ?2";

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  auto db = sqlite::database::open(path, steps);
  if (!db)
    return db.error();
  std::unique_ptr<store> st{new store};
  st->db_ = std::move(*db);
  return st;
}

caf::expected<std::vector<std::string>>
store::list(const std::string& domain, const std::string& user) {
  auto s = db_->prepare(sql_list);
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    out.push_back(column_text(*s, 0));
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read");
  return out;
}

caf::error store::add(const std::string& domain, const std::string& user,
                      const std::vector<std::string>& items) {
  auto s = db_->prepare(sql_add);
  if (!s)
    return s.error();
  auto txn = db_->begin(true);
  if (!txn)
    return txn.error();
  for (auto& item : items) {
    stmt_guard guard{*s};
    bind_text(*s, 1, domain);
    bind_text(*s, 2, user);
    bind_text(*s, 3, item);
    if (sqlite3_step(*s) != SQLITE_DONE)
      return db_->fail("cannot write to");
  }
  return txn->commit();
}

caf::expected<std::vector<std::string>>
store::remove(const std::string& domain, const std::string& user,
              const std::vector<std::string>& items) {
  auto s = db_->prepare(sql_remove);
  if (!s)
    return s.error();
  auto all = db_->prepare(sql_remove_all);
  if (!all)
    return all.error();
  auto txn = db_->begin(true);
  if (!txn)
    return txn.error();
  std::vector<std::string> removed;
  if (items.empty()) {
    auto before = list(domain, user);
    if (!before)
      return before.error();
    removed = std::move(*before);
    stmt_guard guard{*all};
    bind_text(*all, 1, domain);
    bind_text(*all, 2, user);
    if (sqlite3_step(*all) != SQLITE_DONE)
      return db_->fail("cannot write to");
  } else {
    for (auto& item : items) {
      stmt_guard guard{*s};
      bind_text(*s, 1, domain);
      bind_text(*s, 2, user);
      bind_text(*s, 3, item);
      if (sqlite3_step(*s) != SQLITE_DONE)
        return db_->fail("cannot write to");
      if (sqlite3_changes(db_->handle()) > 0)
        removed.push_back(item);
    }
  }
  if (auto err = txn->commit())
    return err;
  return removed;
}

} // namespace dja::plugins::sqlite_blocking
