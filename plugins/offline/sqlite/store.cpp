#include "plugins/offline/sqlite/store.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

namespace dja::plugins::sqlite_offline {

namespace {

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::stmt_guard;

const std::vector<std::string> steps{
  // 1: the messages, by recipient in arrival order.
  R"(CREATE TABLE offline_messages (
       id     INTEGER PRIMARY KEY,
       domain TEXT    NOT NULL,
       user   TEXT    NOT NULL,
       stored INTEGER NOT NULL,
       stanza TEXT    NOT NULL);
     CREATE INDEX offline_by_user ON offline_messages (domain, user, id))",
};

constexpr const char* sql_count =
  "SELECT count(*) FROM offline_messages WHERE domain = ?1 AND user = ?2";
constexpr const char* sql_insert =
  "INSERT INTO offline_messages (domain, user, stored, stanza)"
  " VALUES (?1, ?2, strftime('%s','now'), ?3)";
constexpr const char* sql_select =
  "SELECT id, stanza FROM offline_messages WHERE domain = ?1 AND user = ?2"
  " ORDER BY id";
constexpr const char* sql_delete =
  "DELETE FROM offline_messages WHERE id = ?1 AND domain = ?2 AND user = ?3";

} // namespace

store::store(std::string domain, std::string path)
  : domain_(std::move(domain)), path_(std::move(path)) {
  // nop
}

caf::expected<sqlite::database*> store::open() {
  if (db_)
    return db_.get();
  auto db = sqlite::database::open(path_, steps);
  if (!db)
    return db.error();
  db_ = std::move(*db);
  spdlog::debug("offline.sqlite: vhost {}: using {}", domain_, path_);
  return db_.get();
}

caf::error store::start() {
  auto db = open();
  return db ? caf::error{} : db.error();
}

caf::expected<bool> store::add(const std::string& user,
                               const std::string& stanza, int64_t max) {
  auto db = open();
  if (!db)
    return db.error();
  auto ins = (*db)->prepare(sql_insert);
  if (!ins)
    return ins.error();
  auto txn = (*db)->begin(true);
  if (!txn)
    return txn.error();
  if (max > 0) {
    auto cnt = (*db)->prepare(sql_count);
    if (!cnt)
      return cnt.error();
    stmt_guard g{*cnt};
    bind_text(*cnt, 1, domain_);
    bind_text(*cnt, 2, user);
    if (sqlite3_step(*cnt) != SQLITE_ROW)
      return (*db)->fail("cannot read");
    if (sqlite3_column_int64(*cnt, 0) >= max)
      return false; // rolled back
  }
  stmt_guard g{*ins};
  bind_text(*ins, 1, domain_);
  bind_text(*ins, 2, user);
  bind_text(*ins, 3, stanza);
  if (sqlite3_step(*ins) != SQLITE_DONE)
    return (*db)->fail("cannot write to");
  if (auto err = txn->commit())
    return err;
  return true;
}

caf::expected<std::vector<offline::row>>
store::fetch(const std::string& user) {
  auto db = open();
  if (!db)
    return db.error();
  auto sel = (*db)->prepare(sql_select);
  if (!sel)
    return sel.error();
  std::vector<offline::row> out;
  stmt_guard g{*sel};
  bind_text(*sel, 1, domain_);
  bind_text(*sel, 2, user);
  int rc;
  while ((rc = sqlite3_step(*sel)) == SQLITE_ROW)
    out.emplace_back(sqlite3_column_int64(*sel, 0), column_text(*sel, 1));
  if (rc != SQLITE_DONE)
    return (*db)->fail("cannot read");
  return out;
}

caf::error store::remove(const std::string& user,
                         const std::vector<int64_t>& ids) {
  if (ids.empty())
    return {};
  auto db = open();
  if (!db)
    return db.error();
  auto del = (*db)->prepare(sql_delete);
  if (!del)
    return del.error();
  auto txn = (*db)->begin(true);
  if (!txn)
    return txn.error();
  for (auto id : ids) {
    stmt_guard g{*del};
    sqlite3_bind_int64(*del, 1, id);
    bind_text(*del, 2, domain_);
    bind_text(*del, 3, user);
    if (sqlite3_step(*del) != SQLITE_DONE)
      return (*db)->fail("cannot write to");
  }
  return txn->commit();
}

} // namespace dja::plugins::sqlite_offline
