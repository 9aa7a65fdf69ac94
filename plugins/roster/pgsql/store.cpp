// roster.pgsql: rosters in PostgreSQL, the data of roster.sqlite; nodes
// sharing the database share the rosters. The hooks are
// plugins/roster/serve.hpp; this is the store. libpq calls block (bounded,
// see plugins/common/pgsql/connection.hpp): the actor is detached. Any
// failure, the database down included, is replied as an error.
//
// Schema (component "roster", version 2; 1 had no `listed`):
//
//   roster_items(domain, username, contact TEXT,     -- PRIMARY KEY
//                name, subscription TEXT,            --   (domain, username,
//                ask_out, pending_in, approved,      --    contact)
//                listed BOOLEAN)
//   roster_groups(domain, username, contact, grp TEXT)   -- PRIMARY KEY: all
//   roster_versions(domain, username TEXT, version BIGINT)
//                                                    -- PRIMARY KEY
//                                                    --   (domain, username)
//
// `username` is the prepared local part, `contact` the contact's bare JID.
// Every change is one transaction that also bumps the user's version
// (RFC 6121 §2.6); a whole roster is read in one REPEATABLE READ
// transaction (one snapshot).

#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/common/pgsql/connection.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/roster/serve.hpp"

namespace dja::plugins {

namespace {

using pgsql::result;
using pgsql::session;

const std::vector<pgsql::migration> steps{
  // 1: items, their groups, the per-user version.
  R"(CREATE TABLE roster_items (
       domain       TEXT    NOT NULL,
       username     TEXT    NOT NULL,
       contact      TEXT    NOT NULL,
       name         TEXT    NOT NULL,
       subscription TEXT    NOT NULL,
       ask_out      BOOLEAN NOT NULL,
       pending_in   BOOLEAN NOT NULL,
       approved     BOOLEAN NOT NULL,
       PRIMARY KEY (domain, username, contact));
     CREATE TABLE roster_groups (
       domain   TEXT NOT NULL,
       username TEXT NOT NULL,
       contact  TEXT NOT NULL,
       grp      TEXT NOT NULL,
       PRIMARY KEY (domain, username, contact, grp));
     CREATE TABLE roster_versions (
       domain   TEXT   NOT NULL,
       username TEXT   NOT NULL,
       version  BIGINT NOT NULL,
       PRIMARY KEY (domain, username)))",
  // 2: whether an item is in the roster or only holds a request (RFC 6121
  // §3.1.3). Rows written before it were judged by name, groups and
  // state: None + Pending In without name or groups was a request alone.
  R"(ALTER TABLE roster_items ADD COLUMN listed BOOLEAN NOT NULL DEFAULT true;
     UPDATE roster_items SET listed = false
      WHERE subscription = 'none' AND NOT ask_out AND pending_in
        AND name = ''
        AND NOT EXISTS (SELECT 1 FROM roster_groups g
                         WHERE g.domain = roster_items.domain
                           AND g.username = roster_items.username
                           AND g.contact = roster_items.contact))",
};

constexpr const char* sql_snapshot =
  "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr const char* sql_items =
  "SELECT contact, name, subscription, ask_out, pending_in, approved, listed"
  " FROM roster_items WHERE domain = $1 AND username = $2 ORDER BY contact";
constexpr const char* sql_groups =
  "SELECT contact, grp FROM roster_groups WHERE domain = $1"
  " AND username = $2 ORDER BY contact, grp";
constexpr const char* sql_item =
  "SELECT contact, name, subscription, ask_out, pending_in, approved, listed"
  " FROM roster_items WHERE domain = $1 AND username = $2 AND contact = $3";
constexpr const char* sql_item_groups =
  "SELECT contact, grp FROM roster_groups"
  " WHERE domain = $1 AND username = $2 AND contact = $3 ORDER BY grp";
constexpr const char* sql_upsert =
  "INSERT INTO roster_items (domain, username, contact, name, subscription,"
  " ask_out, pending_in, approved, listed)"
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
  " ON CONFLICT (domain, username, contact) DO UPDATE SET"
  " name = EXCLUDED.name, subscription = EXCLUDED.subscription,"
  " ask_out = EXCLUDED.ask_out, pending_in = EXCLUDED.pending_in,"
  " approved = EXCLUDED.approved, listed = EXCLUDED.listed";
constexpr const char* sql_del_item =
  "DELETE FROM roster_items WHERE domain = $1 AND username = $2"
  " AND contact = $3";
constexpr const char* sql_del_groups =
  "DELETE FROM roster_groups WHERE domain = $1 AND username = $2"
  " AND contact = $3";
constexpr const char* sql_add_group =
  "INSERT INTO roster_groups (domain, username, contact, grp)"
  " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
constexpr const char* sql_wipe_items =
  "DELETE FROM roster_items WHERE domain = $1 AND username = $2";
constexpr const char* sql_wipe_groups =
  "DELETE FROM roster_groups WHERE domain = $1 AND username = $2";
constexpr const char* sql_bump =
  "INSERT INTO roster_versions (domain, username, version) VALUES ($1, $2, 1)"
  " ON CONFLICT (domain, username) DO UPDATE"
  " SET version = roster_versions.version + 1 RETURNING version";
constexpr const char* sql_version =
  "SELECT version FROM roster_versions WHERE domain = $1 AND username = $2";
constexpr const char* sql_count =
  "SELECT count(*) FROM roster_items WHERE domain = $1 AND username = $2";

const char* flag(bool b) {
  return b ? "true" : "false";
}

/// The item in row `i` of an items query; false when the stored contact
/// is not a JID (skipped, logged).
bool read_item(const result& r, int i, hooks::roster_item& out) {
  auto contact = r.text(i, 0);
  auto j = jid::parse(contact);
  if (!j) {
    spdlog::warn("roster.pgsql: skipping an item with a malformed contact "
                 "'{}'", contact);
    return false;
  }
  out.contact = j->bare();
  out.name = r.text(i, 1);
  out.subscription = r.text(i, 2);
  out.ask_out = r.boolean(i, 3);
  out.pending_in = r.boolean(i, 4);
  out.approved = r.boolean(i, 5);
  out.listed = r.boolean(i, 6);
  return true;
}

caf::expected<int64_t> version(session& s, const std::string& domain,
                               const std::string& user) {
  auto r = s.exec(sql_version, {domain, user});
  if (!r)
    return r.error();
  return r->rows() > 0 ? r->integer(0, 0) : int64_t{0};
}

caf::expected<int64_t> bump(session& s, const std::string& domain,
                            const std::string& user) {
  auto r = s.exec(sql_bump, {domain, user});
  if (!r)
    return r.error();
  return r->integer(0, 0);
}

class store : public roster::backend {
public:
  explicit store(pgsql::settings cfg)
    : db_(std::move(cfg), "roster", steps) {
    // nop
  }

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect() {
    return db_.connect();
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
  pgsql::connection db_;
};

caf::expected<hooks::roster> store::get(const std::string& domain,
                                        const std::string& user) {
  return db_.query<hooks::roster>(
    [&](session& s) -> caf::expected<hooks::roster> {
      if (auto r = s.exec(sql_snapshot); !r)
        return r.error();
      hooks::roster out;
      auto v = version(s, domain, user);
      if (!v)
        return v.error();
      out.version = std::to_string(*v);
      auto items = s.exec(sql_items, {domain, user});
      if (!items)
        return items.error();
      std::unordered_map<std::string, size_t> index; // stored contact -> item
      for (int i = 0; i < items->rows(); ++i) {
        hooks::roster_item it;
        if (read_item(*items, i, it)) {
          index.emplace(items->text(i, 0), out.items.size());
          out.items.push_back(std::move(it));
        }
      }
      auto groups = s.exec(sql_groups, {domain, user});
      if (!groups)
        return groups.error();
      for (int i = 0; i < groups->rows(); ++i)
        if (auto k = index.find(groups->text(i, 0)); k != index.end())
          out.items[k->second].groups.push_back(groups->text(i, 1));
      return out;
    });
}

caf::expected<std::vector<hooks::roster_item>>
store::load(const std::string& domain, const std::string& user,
            const std::string& contact) {
  using items = std::vector<hooks::roster_item>;
  return db_.query<items>([&](session& s) -> caf::expected<items> {
    items out;
    auto r = s.exec(sql_item, {domain, user, contact});
    if (!r)
      return r.error();
    hooks::roster_item it;
    if (r->rows() == 0 || !read_item(*r, 0, it))
      return out;
    auto g = s.exec(sql_item_groups, {domain, user, contact});
    if (!g)
      return g.error();
    for (int i = 0; i < g->rows(); ++i)
      it.groups.push_back(g->text(i, 1));
    out.push_back(std::move(it));
    return out;
  });
}

caf::expected<std::string> store::set(const std::string& domain,
                                      const std::string& user,
                                      const hooks::roster_item& item) {
  auto contact = item.contact.bare_str();
  return db_.query<std::string>([&](session& s) -> caf::expected<std::string> {
    auto r = s.exec(sql_upsert,
                    {domain, user, contact, item.name, item.subscription,
                     flag(item.ask_out), flag(item.pending_in),
                     flag(item.approved), flag(item.listed)});
    if (!r)
      return r.error();
    if (auto d = s.exec(sql_del_groups, {domain, user, contact}); !d)
      return d.error();
    for (auto& grp : item.groups)
      if (auto a = s.exec(sql_add_group, {domain, user, contact, grp}); !a)
        return a.error();
    auto v = bump(s, domain, user);
    if (!v)
      return v.error();
    return std::to_string(*v);
  });
}

caf::expected<std::string> store::remove(const std::string& domain,
                                         const std::string& user,
                                         const std::string& contact) {
  return db_.query<std::string>([&](session& s) -> caf::expected<std::string> {
    auto r = s.exec(sql_del_item, {domain, user, contact});
    if (!r)
      return r.error();
    if (auto d = s.exec(sql_del_groups, {domain, user, contact}); !d)
      return d.error();
    auto v = r->affected() > 0 ? bump(s, domain, user)
                               : version(s, domain, user);
    if (!v)
      return v.error();
    return std::to_string(*v);
  });
}

caf::error store::wipe(const std::string& domain, const std::string& user) {
  return db_.run([&](session& s) -> caf::error {
    for (auto sql : {sql_wipe_items, sql_wipe_groups})
      if (auto r = s.exec(sql, {domain, user}); !r)
        return r.error();
    auto v = bump(s, domain, user);
    return v ? caf::error{} : v.error();
  });
}

caf::expected<size_t> store::count(const std::string& domain,
                                   const std::string& user) {
  return db_.query<size_t>([&](session& s) -> caf::expected<size_t> {
    auto r = s.exec(sql_count, {domain, user});
    if (!r)
      return r.error();
    return static_cast<size_t>(r->integer(0, 0));
  });
}

caf::behavior roster_pgsql(caf::event_based_actor* self,
                           roster::settings cfg, pgsql::settings db_cfg) {
  auto db = std::make_shared<store>(std::move(db_cfg));
  // On the actor's own thread: connecting (and migrating) may take a while.
  if (auto err = db->connect())
    spdlog::error("roster.pgsql: vhost {}: every request fails until the "
                  "database can be reached",
                  cfg.scope.domain);
  return roster::serve(self, std::move(cfg), std::move(db));
}

} // namespace

DJA_PLUGIN(roster_pgsql) {
  return {
    "roster.pgsql",
    "rosters in PostgreSQL",
    roster::options(pgsql::options()),
    [](const toml::table&) { return roster::describe(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn<caf::detached>(
        roster_pgsql, roster::settings_of(ctx, "roster.pgsql"),
        pgsql::settings_of(ctx, "roster.pgsql"));
    },
  };
}

} // namespace dja::plugins
