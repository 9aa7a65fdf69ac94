// offline.sqlite: XEP-0160 offline messages in an SQLite database
// (plugins/offline/sqlite/store.hpp has the schema). Serves `deliver` (a
// message for a user with no session), `offline.fetch` and
// `offline.remove` (the session takes them at the user's next available
// presence, writes them, then has them removed). What is stored, the
// delay stamp and the quota are shared with offline.memory
// (plugins/offline/common/policy.hpp). SQLite calls block: the actor is
// detached.
//
// Durability: "taken" is answered only after the row is committed with
// synchronous = FULL (in WAL mode: the log is fsync'd at every commit).
// A fetch deletes nothing; `offline.remove` deletes the rows the session
// has written to its connection, in one committed transaction. A session
// that dies in between leaves them for the next login.

#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/offline/common/policy.hpp"
#include "plugins/offline/sqlite/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using hooks::delivery_verdict;
using sqlite_offline::store;

constexpr const char* tag = "offline.sqlite";

struct offline_state {
  static inline const char* name = "offline.sqlite";

  std::string domain;
  std::string path;
  int64_t max_messages = offline::default_max_messages;
  caf::actor vhost;
  std::unique_ptr<store> db;

  /// The store, opened on first use (and again after a failed open).
  caf::expected<store*> open() {
    if (db)
      return db.get();
    auto st = store::open(path);
    if (!st)
      return failed("open", st.error());
    db = std::move(*st);
    spdlog::debug("offline.sqlite: vhost {}: using {}", domain, path);
    return db.get();
  }

  /// Logs a failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("offline.sqlite: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"offline.sqlite: "} + op + " failed");
  }

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Stores `stanza` (stamped) for `user` (who exists).
  caf::expected<answer<delivery_verdict>> keep(const jid& user,
                                               const xml::element& stanza) {
    auto db = open();
    if (!db)
      return db.error();
    auto added = (*db)->add(domain, user.local(), xml::to_string(stanza),
                            max_messages);
    if (!added)
      return failed("store", added.error());
    if (!*added)
      return offline::queue_full(tag, domain, user.local(), max_messages);
    return answer<delivery_verdict>::handled({true, {}});
  }
};

using offline_actor = caf::stateful_actor<offline_state>;

caf::behavior offline_sqlite(offline_actor* self, std::string domain,
                             std::string path, int64_t max_messages,
                             caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.path = std::move(path);
  st.max_messages = max_messages;
  st.vhost = std::move(vhost);
  if (auto db = st.open(); !db)
    spdlog::error("offline.sqlite: vhost {}: every request fails until {} "
                  "can be opened", st.domain, st.path);
  return {
    [self](const hooks::deliver& r)
      -> caf::result<answer<delivery_verdict>> {
      auto& st = self->state;
      return offline::deliver(self, r, st.domain, st.vhost, tag,
                              [self](const jid& user, const xml::element& s) {
                                return self->state.keep(user, s);
                              });
    },
    [self](const hooks::offline_fetch& r)
      -> caf::result<answer<std::vector<hooks::offline_message>>> {
      using result = answer<std::vector<hooks::offline_message>>;
      auto& st = self->state;
      if (!st.ours(r.user))
        return result::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto rows = (*db)->fetch(st.domain, r.user.local());
      if (!rows)
        return st.failed("fetch", rows.error());
      std::vector<int64_t> broken;
      auto out = offline::parse_stored(*rows, tag, st.domain, r.user.local(),
                                       broken);
      if (auto err = (*db)->remove(st.domain, r.user.local(), broken))
        st.failed("fetch: dropping unparsable rows", err);
      if (!out.empty())
        spdlog::debug("offline.sqlite: vhost {}: {} stanzas for {}",
                      st.domain, out.size(), r.user.local());
      return result::handled(std::move(out));
    },
    [self](const hooks::offline_remove& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      if (auto err = (*db)->remove(st.domain, r.user.local(), r.ids))
        return st.failed("remove", err);
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type offline_sqlite_type() {
  return {
    tag,
    "XEP-0160 offline messages in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"offline.sqlite\")"},
     offline::max_messages_option()},
    [](const toml::table&) { return offline::offline_manifest(); },
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"offline.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      return ctx.sys.spawn<caf::detached>(offline_sqlite, ctx.domain, path,
                                          offline::max_messages(ctx, tag),
                                          ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins
