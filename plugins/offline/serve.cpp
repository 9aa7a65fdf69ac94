// The offline feature actor (plugins/offline/serve.hpp): XEP-0160 offline
// messages over a backend. A storage failure is replied as an error (the
// router bounces the message: never a silent loss).

#include "plugins/offline/serve.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/stored_xml.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/offline/common/policy.hpp"

namespace dja::plugins::offline {

namespace {

using hooks::answer;
using hooks::delivery_verdict;
using hooks::offline_message;

struct offline_state {
  static inline const char* name = "offline";

  std::string tag;
  std::string domain;
  int64_t max_messages = default_max_messages;
  caf::actor vhost;
  std::shared_ptr<backend> db;

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Logs a failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("{}: vhost {}: {}: {}", tag, domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           tag + ": " + op + " failed");
  }

  /// Stores `stanza` (stamped) for `user` (who exists).
  caf::expected<answer<delivery_verdict>> keep(const jid& user,
                                               const xml::element& stanza) {
    auto added = db->add(user.local(), xml::to_string(stanza), max_messages);
    if (!added)
      return failed("store", added.error());
    if (!*added)
      return queue_full(tag.c_str(), domain, user.local(), max_messages);
    return answer<delivery_verdict>::handled({true, {}});
  }

  /// The stored stanzas of `user` read back. A row that does not parse
  /// is logged and deleted (it would fail at every login otherwise).
  caf::expected<std::vector<offline_message>> fetch(const std::string& user) {
    auto rows = db->fetch(user);
    if (!rows)
      return failed("fetch", rows.error());
    std::vector<offline_message> out;
    std::vector<int64_t> broken;
    out.reserve(rows->size());
    for (auto& [id, text] : *rows) {
      if (auto e = xml::parse_stored(text)) {
        out.push_back({id, std::move(e)});
        continue;
      }
      spdlog::error("{}: vhost {}: dropping a stored stanza for {} that "
                    "does not parse",
                    tag, domain, user);
      broken.push_back(id);
    }
    if (!broken.empty())
      if (auto err = db->remove(user, broken))
        failed("fetch: dropping unparsable rows", err);
    if (!out.empty())
      spdlog::debug("{}: vhost {}: {} stanzas for {}", tag, domain,
                    out.size(), user);
    return out;
  }
};

using offline_actor = caf::stateful_actor<offline_state>;

caf::behavior serve(offline_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<backend> db, int64_t max_messages,
                    caf::actor vhost) {
  auto& st = self->state;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.max_messages = max_messages;
  st.vhost = std::move(vhost);
  if (auto err = st.db->start())
    spdlog::error("{}: vhost {}: every request fails until the store can "
                  "be used: {}",
                  st.tag, st.domain, caf::to_string(err));
  return {
    [self](const hooks::deliver& r)
      -> caf::result<answer<delivery_verdict>> {
      auto& st = self->state;
      return deliver(self, r, st.domain, st.vhost, st.tag.c_str(),
                     [self](const jid& user, const xml::element& s) {
                       return self->state.keep(user, s);
                     });
    },
    [self](const hooks::offline_fetch& r)
      -> caf::result<answer<std::vector<offline_message>>> {
      using result = answer<std::vector<offline_message>>;
      auto& st = self->state;
      if (!st.ours(r.user))
        return result::decline();
      auto out = st.fetch(r.user.local());
      if (!out)
        return out.error();
      return result::handled(std::move(*out));
    },
    [self](const hooks::offline_remove& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      if (auto err = st.db->remove(r.user.local(), r.ids))
        return st.failed("remove", err);
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<backend>(const spawn_context&)> open) {
  store_options.push_back(max_messages_option());
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) { return offline_manifest(); },
    [name, open](const spawn_context& ctx) {
      auto db = open(ctx);
      auto max = max_messages(ctx, name);
      if (db->blocking())
        return ctx.sys.spawn<caf::detached>(serve, std::string{name},
                                            ctx.domain, db, max,
                                            ctx.vhost_actor);
      return ctx.sys.spawn(serve, std::string{name}, ctx.domain, db, max,
                           ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins::offline
