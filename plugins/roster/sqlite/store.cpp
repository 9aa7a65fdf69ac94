#include "plugins/roster/sqlite/store.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

namespace dja::plugins::sqlite_roster {

namespace {

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
INSERT INTO schema_version (version) VALUES (1);
)";

constexpr const char* sql_items =
  "SELECT contact, name, subscription, ask_out, pending_in, approved"
  " FROM roster_items WHERE domain = ?1 AND user = ?2 ORDER BY contact";
constexpr const char* sql_groups =
  "SELECT contact, grp FROM roster_groups WHERE domain = ?1 AND user = ?2"
  " ORDER BY contact, grp";
constexpr const char* sql_item =
  "SELECT contact, name, subscription, ask_out, pending_in, approved"
  " FROM roster_items WHERE domain = ?1 AND user = ?2 AND contact = ?3";
constexpr const char* sql_item_groups =
  "SELECT contact, grp FROM roster_groups"
  " WHERE domain = ?1 AND user = ?2 AND contact = ?3 ORDER BY grp";
constexpr const char* sql_upsert =
  "INSERT OR REPLACE INTO roster_items (domain, user, contact, name,"
  " subscription, ask_out, pending_in, approved)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
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

/// Resets a cached statement (and drops its bindings) on scope exit.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

/// A transaction rolled back unless committed.
struct txn_guard {
  sqlite3* db;
  bool open = true;
  ~txn_guard() {
    if (open)
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

void bind_key(sqlite3_stmt* s, const std::string& domain,
              const std::string& user) {
  bind_text(s, 1, domain);
  bind_text(s, 2, user);
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  auto n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string{} : std::string{p, static_cast<size_t>(n)};
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
  return true;
}

} // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  std::unique_ptr<store> st{new store};
  st->path_ = path;
  // Rosters are private: create the file readable by the server's user
  // only (SQLite gives its -wal / -shm files the same mode).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  else if (errno != EEXIST)
    return caf::make_error(caf::sec::runtime_error,
                           "cannot create " + path + ": "
                             + std::strerror(errno));
  auto rc = sqlite3_open_v2(path.c_str(), &st->db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  if (rc != SQLITE_OK)
    return st->fail("cannot open");
  sqlite3_extended_result_codes(st->db_, 1);
  sqlite3_busy_timeout(st->db_, 5000);
  if (auto err = st->exec("PRAGMA journal_mode = WAL"))
    return err;
  if (auto err = st->exec("PRAGMA synchronous = FULL"))
    return err;
  if (auto err = st->migrate())
    return err;
  return st;
}

store::~store() {
  for (auto s : {items_, groups_, item_, item_groups_, upsert_, del_item_,
                 del_groups_, add_group_, wipe_items_, wipe_groups_, bump_,
                 version_})
    sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

caf::error store::fail(const char* what) const {
  std::string msg = what;
  msg += " ";
  msg += path_;
  msg += ": ";
  msg += db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  return caf::make_error(caf::sec::runtime_error, std::move(msg));
}

caf::error store::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("cannot use");
  return {};
}

caf::error store::migrate() {
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  if (auto err = exec("CREATE TABLE IF NOT EXISTS schema_version"
                      " (version INTEGER NOT NULL)"))
    return err;
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1,
                         &q, nullptr)
      != SQLITE_OK)
    return fail("cannot read the schema version of");
  int version = 0;
  auto rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int(q, 0); // NULL (empty table) reads as 0
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW)
    return fail("cannot read the schema version of");
  if (version > schema_version)
    return caf::make_error(caf::sec::runtime_error,
                           path_ + " has schema version "
                             + std::to_string(version)
                             + ", newer than this server's "
                             + std::to_string(schema_version));
  if (version == 0)
    if (auto err = exec(create_tables))
      return err;
  // Later versions migrate here, one step at a time.
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return {};
}

caf::expected<sqlite3_stmt*> store::prepare(sqlite3_stmt*& slot,
                                            const char* sql) {
  if (slot == nullptr
      && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot,
                            nullptr)
           != SQLITE_OK)
    return fail("cannot prepare a statement on");
  return slot;
}

caf::error store::step_done(sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE)
    return fail("cannot write to");
  return {};
}

caf::expected<int64_t> store::bump(const std::string& domain,
                                   const std::string& user) {
  auto s = prepare(bump_, sql_bump);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_key(*s, domain, user);
  if (sqlite3_step(*s) != SQLITE_ROW)
    return fail("cannot write to");
  return sqlite3_column_int64(*s, 0);
}

caf::expected<int64_t> store::version(const std::string& domain,
                                      const std::string& user) {
  auto s = prepare(version_, sql_version);
  if (!s)
    return s.error();
  stmt_guard g{*s};
  bind_key(*s, domain, user);
  auto rc = sqlite3_step(*s);
  if (rc == SQLITE_DONE)
    return int64_t{0};
  if (rc != SQLITE_ROW)
    return fail("cannot read");
  return sqlite3_column_int64(*s, 0);
}

caf::expected<hooks::roster> store::get(const std::string& domain,
                                        const std::string& user) {
  auto items = prepare(items_, sql_items);
  if (!items)
    return items.error();
  auto groups = prepare(groups_, sql_groups);
  if (!groups)
    return groups.error();
  // One read transaction: items, groups and version from one snapshot.
  if (auto err = exec("BEGIN"))
    return err;
  txn_guard txn{db_};
  hooks::roster out;
  auto v = version(domain, user);
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
      return fail("cannot read");
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
      return fail("cannot read");
  }
  exec("COMMIT");
  txn.open = false;
  return out;
}

caf::expected<std::vector<hooks::roster_item>>
store::load(const std::string& domain, const std::string& user,
            const std::string& contact) {
  auto item = prepare(item_, sql_item);
  if (!item)
    return item.error();
  auto groups = prepare(item_groups_, sql_item_groups);
  if (!groups)
    return groups.error();
  if (auto err = exec("BEGIN"))
    return err;
  txn_guard txn{db_};
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
      return fail("cannot read");
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
      return fail("cannot read");
  }
  exec("COMMIT");
  txn.open = false;
  return out;
}

caf::expected<std::string> store::set(const std::string& domain,
                                      const std::string& user,
                                      const hooks::roster_item& item) {
  auto upsert = prepare(upsert_, sql_upsert);
  if (!upsert)
    return upsert.error();
  auto del_groups = prepare(del_groups_, sql_del_groups);
  if (!del_groups)
    return del_groups.error();
  auto add_group = prepare(add_group_, sql_add_group);
  if (!add_group)
    return add_group.error();
  auto contact = item.contact.bare_str();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  {
    stmt_guard g{*upsert};
    bind_key(*upsert, domain, user);
    bind_text(*upsert, 3, contact);
    bind_text(*upsert, 4, item.name);
    bind_text(*upsert, 5, item.subscription);
    sqlite3_bind_int(*upsert, 6, item.ask_out ? 1 : 0);
    sqlite3_bind_int(*upsert, 7, item.pending_in ? 1 : 0);
    sqlite3_bind_int(*upsert, 8, item.approved ? 1 : 0);
    if (auto err = step_done(*upsert))
      return err;
  }
  {
    stmt_guard g{*del_groups};
    bind_key(*del_groups, domain, user);
    bind_text(*del_groups, 3, contact);
    if (auto err = step_done(*del_groups))
      return err;
  }
  for (auto& grp : item.groups) {
    stmt_guard g{*add_group};
    bind_key(*add_group, domain, user);
    bind_text(*add_group, 3, contact);
    bind_text(*add_group, 4, grp);
    if (auto err = step_done(*add_group))
      return err;
  }
  auto v = bump(domain, user);
  if (!v)
    return v.error();
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return std::to_string(*v);
}

caf::expected<std::string> store::remove(const std::string& domain,
                                         const std::string& user,
                                         const std::string& contact) {
  auto del_item = prepare(del_item_, sql_del_item);
  if (!del_item)
    return del_item.error();
  auto del_groups = prepare(del_groups_, sql_del_groups);
  if (!del_groups)
    return del_groups.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  int removed = 0;
  {
    stmt_guard g{*del_item};
    bind_key(*del_item, domain, user);
    bind_text(*del_item, 3, contact);
    if (auto err = step_done(*del_item))
      return err;
    removed = sqlite3_changes(db_);
  }
  {
    stmt_guard g{*del_groups};
    bind_key(*del_groups, domain, user);
    bind_text(*del_groups, 3, contact);
    if (auto err = step_done(*del_groups))
      return err;
  }
  auto v = removed > 0 ? bump(domain, user) : version(domain, user);
  if (!v)
    return v.error();
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return std::to_string(*v);
}

caf::error store::wipe(const std::string& domain, const std::string& user) {
  auto items = prepare(wipe_items_, sql_wipe_items);
  if (!items)
    return items.error();
  auto groups = prepare(wipe_groups_, sql_wipe_groups);
  if (!groups)
    return groups.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  txn_guard txn{db_};
  for (auto s : {*items, *groups}) {
    stmt_guard g{s};
    bind_key(s, domain, user);
    if (auto err = step_done(s))
      return err;
  }
  auto v = bump(domain, user);
  if (!v)
    return v.error();
  if (auto err = exec("COMMIT"))
    return err;
  txn.open = false;
  return {};
}

} // namespace dja::plugins::sqlite_roster
