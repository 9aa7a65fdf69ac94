// roster.pgsql: rosters stored in PostgreSQL (plugins/roster/pgsql/
// store.hpp has the schema), with the behaviour of roster.sqlite. Serves
// every roster.* hook for users of its vhost's domain and declines the
// others. Versioning (RFC 6121 §2.6): a per-user counter, bumped in the
// same transaction as every change and kept across a wipe. libpq calls
// block: the actor is detached. Any storage failure (the database down
// included) is replied as an error (the core answers
// <internal-server-error/>).

#include <algorithm>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/roster/pgsql/store.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using pgsql_roster::store;

struct roster_pgsql_state {
  static inline const char* name = "roster.pgsql";

  std::string domain;
  std::unique_ptr<store> db;

  /// The store; it reconnects by itself (an error while the database
  /// is down).
  caf::expected<store*> open() {
    return db.get();
  }

  /// Logs a storage failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("roster.pgsql: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"roster.pgsql: "} + op + " failed");
  }

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  template <class T>
  caf::result<answer<T>> reply(const char* op, caf::expected<T> r) const {
    if (!r)
      return failed(op, r.error());
    return answer<T>::handled(std::move(*r));
  }
};

using roster_pgsql_actor = caf::stateful_actor<roster_pgsql_state>;

/// Groups sorted, without duplicates (as they come back from the store).
hooks::roster_item normalized(hooks::roster_item item) {
  auto& g = item.groups;
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return item;
}

caf::behavior roster_pgsql(roster_pgsql_actor* self, std::string domain,
                           pgsql::settings cfg) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.db = std::make_unique<store>(std::move(cfg));
  if (auto err = st.db->connect())
    spdlog::error("roster.pgsql: vhost {}: every request fails until the "
                  "database can be reached", st.domain);
  return {
    [self](const hooks::roster_get& r) -> caf::result<answer<hooks::roster>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<hooks::roster>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      return st.reply("get", (*db)->get(st.domain, r.user.local()));
    },
    [self](const hooks::roster_load_item& r)
      -> caf::result<answer<std::vector<hooks::roster_item>>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<std::vector<hooks::roster_item>>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      return st.reply("load_item", (*db)->load(st.domain, r.user.local(),
                                               r.contact.bare_str()));
    },
    [self](const hooks::roster_set_item& r)
      -> caf::result<answer<std::string>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<std::string>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      return st.reply("set_item", (*db)->set(st.domain, r.user.local(),
                                             normalized(r.item)));
    },
    [self](const hooks::roster_remove_item& r)
      -> caf::result<answer<std::string>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<std::string>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      return st.reply("remove_item", (*db)->remove(st.domain, r.user.local(),
                                                   r.contact.bare_str()));
    },
    [self](const hooks::roster_wipe& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      if (auto err = (*db)->wipe(st.domain, r.user.local()))
        return st.failed("wipe", err);
      spdlog::info("roster.pgsql: vhost {}: roster of {} wiped", st.domain,
                   r.user.local());
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type roster_pgsql_type() {
  return {
    "roster.pgsql",
    "rosters in PostgreSQL",
    pgsql::options(),
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::roster_get>,
                       hooks::id<hooks::roster_load_item>,
                       hooks::id<hooks::roster_set_item>,
                       hooks::id<hooks::roster_remove_item>,
                       hooks::id<hooks::roster_wipe>},
                      {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn<caf::detached>(
        roster_pgsql, ctx.domain, pgsql::settings_of(ctx, "roster.pgsql"));
    },
  };
}

} // namespace dja::plugins
