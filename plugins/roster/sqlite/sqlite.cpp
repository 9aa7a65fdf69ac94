// roster.sqlite: rosters stored in an SQLite database (plugins/roster/
// sqlite/store.hpp has the schema). Serves every roster.* hook for users of
// its vhost's domain and declines the others. Versioning (RFC 6121 §2.6): a
// per-user counter, bumped in the same transaction as every change and kept
// across a wipe. SQLite calls block: the actor is detached. Any storage
// failure is replied as an error (the core answers
// <internal-server-error/>).

#include <algorithm>
#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/roster/sqlite/store.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using sqlite_roster::store;

struct roster_sqlite_state {
  static inline const char* name = "roster.sqlite";

  std::string domain;
  std::string path;
  std::unique_ptr<store> db;

  /// The store, opened on first use (and again after a failed open).
  caf::expected<store*> open() {
    if (db)
      return db.get();
    auto st = store::open(path);
    if (!st)
      return failed("open", st.error());
    db = std::move(*st);
    spdlog::debug("roster.sqlite: vhost {}: using {}", domain, path);
    return db.get();
  }

  /// Logs a storage failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("roster.sqlite: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"roster.sqlite: "} + op + " failed");
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

using roster_sqlite_actor = caf::stateful_actor<roster_sqlite_state>;

/// Groups sorted, without duplicates (as they come back from the store).
hooks::roster_item normalized(hooks::roster_item item) {
  auto& g = item.groups;
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return item;
}

caf::behavior roster_sqlite(roster_sqlite_actor* self, std::string domain,
                            std::string path) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.path = std::move(path);
  if (auto db = st.open(); !db)
    spdlog::error("roster.sqlite: vhost {}: every request fails until {} "
                  "can be opened", st.domain, st.path);
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
      spdlog::info("roster.sqlite: vhost {}: roster of {} wiped", st.domain,
                   r.user.local());
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type roster_sqlite_type() {
  return {
    "roster.sqlite",
    "rosters in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"roster.sqlite\")"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::roster_get>,
                       hooks::id<hooks::roster_load_item>,
                       hooks::id<hooks::roster_set_item>,
                       hooks::id<hooks::roster_remove_item>,
                       hooks::id<hooks::roster_wipe>},
                      {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"roster.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      return ctx.sys.spawn<caf::detached>(roster_sqlite, ctx.domain, path);
    },
  };
}

} // namespace dja::plugins
