#include "plugins/common/sqlite/doc_store.hpp"

#include <sqlite3.h>

namespace dja::plugins::sqlite {

caf::expected<std::unique_ptr<doc_store>>
doc_store::open(const std::string& path, const std::string& table) {
  // IF NOT EXISTS, and run even when the file is at version 1 already: the
  // table of this plugin, also in a file that another store (another
  // table) already brought to version 1.
  auto create = "CREATE TABLE IF NOT EXISTS " + table
                + " (domain TEXT NOT NULL, username TEXT NOT NULL,"
                  " key TEXT NOT NULL, value TEXT NOT NULL,"
                  " updated INTEGER NOT NULL,"
                  " PRIMARY KEY (domain, username, key)) WITHOUT ROWID";
  auto db = database::open(path, {create});
  if (!db)
    return db.error();
  if (auto err = (*db)->exec(create.c_str()))
    return err;
  std::unique_ptr<doc_store> st{new doc_store};
  st->table_ = table;
  st->db_ = std::move(*db);
  return st;
}

caf::expected<doc> doc_store::get(const std::string& domain,
                                  const std::string& user,
                                  const std::string& key) {
  auto s = db_->prepare("SELECT value, updated FROM " + table_
                        + " WHERE domain = ?1 AND username = ?2"
                          " AND key = ?3");
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  bind_text(*s, 3, key);
  doc res;
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_DONE)
    return res;
  if (rc != SQLITE_ROW)
    return db_->fail("cannot read");
  res.found = true;
  res.value = column_text(*s, 0);
  res.updated = sqlite3_column_int64(*s, 1);
  return res;
}

caf::error
doc_store::put(const std::string& domain, const std::string& user,
           const std::vector<std::pair<std::string, std::string>>& docs,
           int64_t updated) {
  auto s = db_->prepare("INSERT OR REPLACE INTO " + table_
                        + " (domain, username, key, value, updated)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!s)
    return s.error();
  auto txn = db_->begin(true);
  if (!txn)
    return txn.error();
  for (auto& [key, value] : docs) {
    stmt_guard guard{*s};
    bind_text(*s, 1, domain);
    bind_text(*s, 2, user);
    bind_text(*s, 3, key);
    bind_text(*s, 4, value);
    sqlite3_bind_int64(*s, 5, updated);
    if (sqlite3_step(*s) != SQLITE_DONE)
      return db_->fail("cannot write to"); // reset, then rolled back
  }
  return txn->commit();
}

caf::error doc_store::remove(const std::string& domain,
                             const std::string& user,
                             const std::string& key) {
  auto s = db_->prepare("DELETE FROM " + table_
                        + " WHERE domain = ?1 AND username = ?2"
                          " AND key = ?3");
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  bind_text(*s, 3, key);
  if (sqlite3_step(*s) != SQLITE_DONE)
    return db_->fail("cannot write to");
  return {};
}

caf::expected<std::map<std::string, int64_t>>
doc_store::sizes(const std::string& domain, const std::string& user) {
  // length() of a BLOB counts bytes (of TEXT: characters).
  auto s = db_->prepare("SELECT key, length(CAST(value AS BLOB)) FROM "
                        + table_ + " WHERE domain = ?1 AND username = ?2");
  if (!s)
    return s.error();
  stmt_guard guard{*s};
  bind_text(*s, 1, domain);
  bind_text(*s, 2, user);
  std::map<std::string, int64_t> out;
  int rc;
  while ((rc = sqlite3_step(*s)) == SQLITE_ROW)
    out[column_text(*s, 0)] = sqlite3_column_int64(*s, 1);
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read");
  return out;
}

} // namespace dja::plugins::sqlite
