// roster.sqlite: rosters in an SQLite database, one file per plugin
// (default data_dir/roster.sqlite). The hooks are plugins/roster/serve.hpp;
// this is the store. SQLite calls block: the actor is detached.
//
// Schema (version 2; 1 had no `listed`):
//
//   schema_version(version INTEGER NOT NULL)          -- one row
//   roster_items(domain, user, contact TEXT,          -- PRIMARY KEY
//                name TEXT, subscription TEXT,        --   (domain, user,
//                ask_out, pending_in, approved,       --    contact)
//                listed INTEGER)
//   roster_groups(domain, user, contact, grp TEXT)    -- PRIMARY KEY: all
//   roster_versions(domain, user TEXT, version INTEGER)
//                                                     -- PRIMARY KEY
//                                                     --   (domain, user)
//
// `user` is the prepared local part, `contact` the contact's bare JID.
// Every change runs in one BEGIN IMMEDIATE transaction that also bumps the
// user's version (RFC 6121 §2.6), committed with synchronous = FULL.
// Every failure is a caf::error carrying SQLite's message. File mode,
// pragmas, migration and statement cache: plugins/common/sqlite.

#include <filesystem>
#include <memory>

#include <sqlite3.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/common/sqlite/lazy_database.hpp"
#include "plugins/roster/serve.hpp"

namespace dja::plugins {

namespace {

using sqlite::database;

using sqlite::bind_text;
using sqlite::column_text;
using sqlite::stmt_guard;

constexpr const char* create_tables = R"(
CREATE TABLE roster_items (
  domain       TEXT    NOT NULL,
  user         TEXT    NOT NULL,
  contact      TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  subscription TEXT    NOT NULL,
  ask_out      INTEGER NOT NULL,
  pending_in   INTEGER NOT NULL,
  approved     INTEGER NOT NULL,
  PRIMARY KEY (domain, user, contact)
) WITHOUT ROWID;
CREATE TABLE roster_groups (
  domain  TEXT NOT NULL,
  user    TEXT NOT NULL,
  contact TEXT NOT NULL,
  grp     TEXT NOT NULL,
  PRIMARY KEY (domain, user, contact, grp)
) WITHOUT ROWID;
CREATE TABLE roster_versions (
  domain  TEXT    NOT NULL,
  user    TEXT    NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (domain, user)
) WITHOUT ROWID;
)";

// 2: whether an item is in the roster or only holds a request (RFC 6121
// §3.1.3). Rows written before it were judged by name, groups and state:
// None + Pending In without name or groups was a request alone.
constexpr const char* add_listed = R"(
ALTER TABLE roster_items ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
UPDATE roster_items SET listed = 0
 WHERE subscription = 'none' AND ask_out = 0 AND pending_in <> 0
   AND name = ''
   AND NOT EXISTS (SELECT 1 FROM roster_groups g
                    WHERE g.domain = roster_items.domain
                      AND g.user = roster_items.user
                      AND g.contact = roster_items.contact);
)";

constexpr const char* sql_items =
  "SELECT contact, name, subscription, ask_out, pending_in, approved, listed"
  " FROM roster_items WHERE domain = ?1 AND user = ?2 ORDER BY contact";
constexpr const char* sql_groups =
  "SELECT contact, grp FROM roster_groups WHERE domain = ?1 AND user = ?2"
  " ORDER BY contact, grp";
constexpr const char* sql_item =
  "SELECT contact, name, subscription, ask_out, pending_in, approved, listed"
  " FROM roster_items WHERE domain = ?1 AND user = ?2 AND contact = ?3";
constexpr const char* sql_item_groups =
  "SELECT contact, grp FROM roster_groups"
  " WHERE domain = ?1 AND user = ?2 AND contact = ?3 ORDER BY grp";
constexpr const char* sql_upsert =
  "INSERT OR REPLACE INTO roster_items (domain, user, contact, name,"
  " subscription, ask_out, pending_in, approved, listed)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* sql_del_item =
  "DELETE FROM roster_items WHERE domain = ?1 AND user = ?2 AND contact = ?3";
constexpr const char* sql_del_groups =
  "DELETE FROM roster_groups WHERE domain = ?1 AND user = ?2 AND contact = ?3";
constexpr const char* sql_add_group =
  "INSERT OR IGNORE INTO roster_groups (domain, user, contact, grp)"
  " VALUES (?1, ?2, ?3, ?4)";
constexpr const char* sql_wipe_items =
  "DELETE FROM roster_items WHERE domain = ?1 AND user = ?2";
constexpr const char* sql_wipe_groups =
  "DELETE FROM roster_groups WHERE domain = ?1 AND user = ?2";
constexpr const char* sql_bump =
  "INSERT INTO roster_versions (domain, user, version) VALUES (?1, ?2, 1)"
  " ON CONFLICT (domain, user) DO UPDATE SET version = version + 1"
  " RETURNING version";
constexpr const char* sql_version =
  "SELECT version FROM roster_versions WHERE domain = ?1 AND user = ?2";
constexpr const char* sql_count =
  "SELECT count(*) FROM roster_items WHERE domain = ?1 AND user = ?2";

void bind_key(sqlite3_stmt* s, const std::string& domain,
              const std::string& user) {
  bind_text(s, 1, domain);
  bind_text(s, 2, user);
}

/// Reads the item in the current row of an items query; false when the
/// stored contact is not a JID (skipped, logged).
bool read_item(sqlite3_stmt* s, hooks::roster_item& out) {
  auto contact = column_text(s, 0);
  auto j = jid::parse(contact);
  if (!j) {
    spdlog::warn("roster.sqlite: skipping an item with a malformed contact "
                 "'{}'", contact);
    return false;
  }
  out.contact = j->bare();
  out.name = column_text(s, 1);
  out.subscription = column_text(s, 2);
  out.ask_out = sqlite3_column_int(s, 3) != 0;
  out.pending_in = sqlite3_column_int(s, 4) != 0;
  out.approved = sqlite3_column_int(s, 5) != 0;
  out.listed = sqlite3_column_int(s, 6) != 0;
  return true;
}

/// Does not return rows (the caller resets the statement).

caf::error step_done(database& db, sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE)
    return db.fail("cannot write to");
  return {};
}

/// Bumps the version inside the current transaction and returns it.
caf::expected<int64_t> bump(database& db, const std::string& domain,
                            const std::string& user) {
  auto s = db.prepare(sql_bump);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_key(*s, domain, user);
  if (sqlite3_step(*s) != SQLITE_ROW)
    return db.fail("cannot write to");
  return sqlite3_column_int64(*s, 0);
}

caf::expected<int64_t> version(database& db, const std::string& domain,
                               const std::string& user) {
  auto s = db.prepare(sql_version);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_key(*s, domain, user);
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_DONE)
    return int64_t{0};
  if (rc != SQLITE_ROW)
    return db.fail("cannot read");
  return sqlite3_column_int64(*s, 0);
}

class store : public roster::backend {
public:
  store(std::string path, std::string tag)
    : db_(std::move(path), {create_tables, add_listed}, std::move(tag)) {
    // nop
  }

  caf::expected<hooks::roster> get(const std::string& domain,
                                   const std::string& user) override;
  caf::expected<std::vector<hooks::roster_item>>
  load(const std::string& domain, const std::string& user,
       const std::string& contact) override;
  caf::expected<std::string> set(const std::string& domain,
                                 const std::string& user,
                                 const hooks::roster_item& item) override;
  caf::expected<std::string> remove(const std::string& domain,
                                    const std::string& user,
                                    const std::string& contact) override;
  caf::error wipe(const std::string& domain,
                  const std::string& user) override;
  caf::expected<size_t> count(const std::string& domain,
                              const std::string& user) override;

private:
  sqlite::lazy_database db_;
};

caf::expected<hooks::roster> store::get(const std::string& domain,
                                        const std::string& user) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto items = db.prepare(sql_items);
  if (!items)
    return items.error();
  auto groups = db.prepare(sql_groups);
  if (!groups)
    return groups.error();
  // One read transaction: items, groups and version from one snapshot.
  auto txn = db.begin(false);
  if (!txn)
    return txn.error();
  hooks::roster out;
  auto v = version(db, domain, user);
  if (!v)
    return v.error();
  out.version = std::to_string(*v);
  std::vector<std::string> contacts; // as stored, parallel to out.items
  {
    stmt_guard g{*items};
    bind_key(*items, domain, user);
    int rc;
    while ((rc = sqlite3_step(*items)) == SQLITE_ROW) {
      hooks::roster_item it;
      if (read_item(*items, it)) {
        contacts.push_back(column_text(*items, 0));
        out.items.push_back(std::move(it));
      }
    }
    if (rc != SQLITE_DONE)
      return db.fail("cannot read");
  }
  {
    // Both queries are ordered by contact: merge.
    stmt_guard g{*groups};
    bind_key(*groups, domain, user);
    size_t i = 0;
    int rc;
    while ((rc = sqlite3_step(*groups)) == SQLITE_ROW) {
      auto contact = column_text(*groups, 0);
      while (i < contacts.size() && contacts[i] < contact)
        ++i;
      if (i < contacts.size() && contacts[i] == contact)
        out.items[i].groups.push_back(column_text(*groups, 1));
    }
    if (rc != SQLITE_DONE)
      return db.fail("cannot read");
  }
  txn->commit(); // a read: nothing to lose
  return out;
}

caf::expected<std::vector<hooks::roster_item>>
store::load(const std::string& domain, const std::string& user,
            const std::string& contact) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto item = db.prepare(sql_item);
  if (!item)
    return item.error();
  auto groups = db.prepare(sql_item_groups);
  if (!groups)
    return groups.error();
  auto txn = db.begin(false);
  if (!txn)
    return txn.error();
  std::vector<hooks::roster_item> out;
  {
    stmt_guard g{*item};
    bind_key(*item, domain, user);
    bind_text(*item, 3, contact);
    auto rc = sqlite3_step(*item);
    if (rc == SQLITE_ROW) {
      hooks::roster_item it;
      if (read_item(*item, it))
        out.push_back(std::move(it));
    } else if (rc != SQLITE_DONE) {
      return db.fail("cannot read");
    }
  }
  if (!out.empty()) {
    stmt_guard g{*groups};
    bind_key(*groups, domain, user);
    bind_text(*groups, 3, contact);
    int rc;
    while ((rc = sqlite3_step(*groups)) == SQLITE_ROW)
      out[0].groups.push_back(column_text(*groups, 1));
    if (rc != SQLITE_DONE)
      return db.fail("cannot read");
  }
  txn->commit(); // a read: nothing to lose
  return out;
}

caf::expected<std::string> store::set(const std::string& domain,
                                      const std::string& user,
                                      const hooks::roster_item& item) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto upsert = db.prepare(sql_upsert);
  if (!upsert)
    return upsert.error();
  auto del_groups = db.prepare(sql_del_groups);
  if (!del_groups)
    return del_groups.error();
  auto add_group = db.prepare(sql_add_group);
  if (!add_group)
    return add_group.error();
  auto contact = item.contact.bare_str();
  auto txn = db.begin(true);
  if (!txn)
    return txn.error();
  {
    stmt_guard g{*upsert};
    bind_key(*upsert, domain, user);
    bind_text(*upsert, 3, contact);
    bind_text(*upsert, 4, item.name);
    bind_text(*upsert, 5, item.subscription);
    sqlite3_bind_int(*upsert, 6, item.ask_out ? 1 : 0);
    sqlite3_bind_int(*upsert, 7, item.pending_in ? 1 : 0);
    sqlite3_bind_int(*upsert, 8, item.approved ? 1 : 0);
    sqlite3_bind_int(*upsert, 9, item.listed ? 1 : 0);
    if (auto err = step_done(db, *upsert))
      return err;
  }
  {
    stmt_guard g{*del_groups};
    bind_key(*del_groups, domain, user);
    bind_text(*del_groups, 3, contact);
    if (auto err = step_done(db, *del_groups))
      return err;
  }
  for (auto& grp : item.groups) {
    stmt_guard g{*add_group};
    bind_key(*add_group, domain, user);
    bind_text(*add_group, 3, contact);
    bind_text(*add_group, 4, grp);
    if (auto err = step_done(db, *add_group))
      return err;
  }
  auto v = bump(db, domain, user);
  if (!v)
    return v.error();
  if (auto err = txn->commit())
    return err;
  return std::to_string(*v);
}

caf::expected<std::string> store::remove(const std::string& domain,
                                         const std::string& user,
                                         const std::string& contact) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto del_item = db.prepare(sql_del_item);
  if (!del_item)
    return del_item.error();
  auto del_groups = db.prepare(sql_del_groups);
  if (!del_groups)
    return del_groups.error();
  auto txn = db.begin(true);
  if (!txn)
    return txn.error();
  int removed = 0;
  {
    stmt_guard g{*del_item};
    bind_key(*del_item, domain, user);
    bind_text(*del_item, 3, contact);
    if (auto err = step_done(db, *del_item))
      return err;
    removed = sqlite3_changes(db.handle());
  }
  {
    stmt_guard g{*del_groups};
    bind_key(*del_groups, domain, user);
    bind_text(*del_groups, 3, contact);
    if (auto err = step_done(db, *del_groups))
      return err;
  }
  auto v = removed > 0 ? bump(db, domain, user) : version(db, domain, user);
  if (!v)
    return v.error();
  if (auto err = txn->commit())
    return err;
  return std::to_string(*v);
}

caf::error store::wipe(const std::string& domain, const std::string& user) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto items = db.prepare(sql_wipe_items);
  if (!items)
    return items.error();
  auto groups = db.prepare(sql_wipe_groups);
  if (!groups)
    return groups.error();
  auto txn = db.begin(true);
  if (!txn)
    return txn.error();
  for (auto s : {*items, *groups}) {
    stmt_guard g{s};
    bind_key(s, domain, user);
    if (auto err = step_done(db, s))
      return err;
  }
  auto v = bump(db, domain, user);
  if (!v)
    return v.error();
  if (auto err = txn->commit())
    return err;
  return {};
}

caf::expected<size_t> store::count(const std::string& domain,
                                   const std::string& user) {
  auto opened = db_.get();
  if (!opened)
    return opened.error();
  auto& db = **opened;
  auto s = db.prepare(sql_count);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_key(*s, domain, user);
  if (sqlite3_step(*s) != SQLITE_ROW)
    return db.fail("cannot read");
  return static_cast<size_t>(sqlite3_column_int64(*s, 0));
}

} // namespace

DJA_PLUGIN(roster_sqlite) {
  return {
    "roster.sqlite",
    "rosters in an SQLite database",
    roster::options({{"file", option_type::string, false,
                      "database file, relative to server.data_dir (default "
                      "\"roster.sqlite\")"}}),
    [](const toml::table&) { return roster::describe(); },
    [](const spawn_context& ctx) {
      auto cfg = roster::settings_of(ctx, "roster.sqlite");
      auto file = ctx.options["file"].value_or(std::string{"roster.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      auto db = std::make_shared<store>(path, cfg.scope.tag + ": vhost "
                                                + ctx.domain);
      return ctx.sys.spawn<caf::detached>(
        roster::serve, std::move(cfg),
        std::shared_ptr<roster::backend>{std::move(db)});
    },
  };
}

} // namespace dja::plugins
