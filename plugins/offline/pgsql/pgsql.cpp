// offline.pgsql: XEP-0160 offline messages in PostgreSQL
// (plugins/offline/pgsql/store.hpp has the schema), with the behaviour of
// offline.sqlite. Serves `deliver` (a message for a user with no session),
// `offline.fetch` and `offline.remove` (the session takes them at the
// user's next available presence, writes them, then has them removed).
// What is stored, the delay stamp, the quota and reading stanzas back are
// shared with the other offline stores (plugins/offline/common/policy.hpp).
// libpq calls block: the actor is detached.
//
// Durability: "taken" is answered only after the row is committed. A
// fetch deletes nothing; `offline.remove` deletes the rows the session has
// written to its connection. A session that dies in between leaves them
// for the next login.

#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/offline/common/policy.hpp"
#include "plugins/offline/pgsql/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using hooks::delivery_verdict;
using pgsql_offline::store;

constexpr const char* tag = "offline.pgsql";

struct offline_state {
  static inline const char* name = "offline.pgsql";

  std::string domain;
  int64_t max_messages = offline::default_max_messages;
  caf::actor vhost;
  /// Reconnects by itself (each call fails while the database is down).
  std::unique_ptr<store> db;

  /// Logs a failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("offline.pgsql: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"offline.pgsql: "} + op + " failed");
  }

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Stores `stanza` (stamped) for `user` (who exists).
  caf::expected<answer<delivery_verdict>> keep(const jid& user,
                                               const xml::element& stanza) {
    auto added = db->add(domain, user.local(), xml::to_string(stanza),
                         max_messages);
    if (!added)
      return failed("store", added.error());
    if (!*added)
      return offline::queue_full(tag, domain, user.local(), max_messages);
    return answer<delivery_verdict>::handled({true, {}});
  }
};

using offline_actor = caf::stateful_actor<offline_state>;

caf::behavior offline_pgsql(offline_actor* self, std::string domain,
                            pgsql::settings cfg, int64_t max_messages,
                            caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.max_messages = max_messages;
  st.vhost = std::move(vhost);
  st.db = std::make_unique<store>(std::move(cfg));
  if (auto err = st.db->connect())
    spdlog::error("offline.pgsql: vhost {}: every request fails until the "
                  "database can be reached", st.domain);
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
      auto rows = st.db->pending(st.domain, r.user.local());
      if (!rows)
        return st.failed("fetch", rows.error());
      std::vector<int64_t> broken;
      auto out = offline::parse_stored(*rows, tag, st.domain, r.user.local(),
                                       broken);
      if (auto n = st.db->remove(st.domain, r.user.local(), broken); !n)
        st.failed("fetch: dropping unparsable rows", n.error());
      if (!out.empty())
        spdlog::debug("offline.pgsql: vhost {}: {} stanzas for {}",
                      st.domain, out.size(), r.user.local());
      return result::handled(std::move(out));
    },
    [self](const hooks::offline_remove& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      if (auto n = st.db->remove(st.domain, r.user.local(), r.ids); !n)
        return st.failed("remove", n.error());
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type offline_pgsql_type() {
  return {
    tag,
    "XEP-0160 offline messages in PostgreSQL",
    pgsql::options({offline::max_messages_option()}),
    [](const toml::table&) { return offline::offline_manifest(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn<caf::detached>(
        offline_pgsql, ctx.domain, pgsql::settings_of(ctx, tag),
        offline::max_messages(ctx, tag), ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins
