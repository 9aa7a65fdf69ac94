// offline.memory: XEP-0160 offline messages kept in the plugin actor's
// memory, per user (for all-in-memory configurations and tests: lost
// when the server, or the plugin actor, stops). The same semantics as
// offline.sqlite: what is stored, the XEP-0203 delay stamp, the per-user
// quota and its <service-unavailable/> come from
// plugins/offline/common/policy.hpp; a fetch removes nothing, the
// session confirms with offline.remove once the stanzas are written.
// Nothing blocks, so the actor is not detached.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/offline/common/policy.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using hooks::delivery_verdict;
using hooks::offline_message;

constexpr const char* tag = "offline.memory";

struct offline_memory_state {
  static inline const char* name = "offline.memory";

  std::string domain;
  int64_t max_messages = offline::default_max_messages;
  caf::actor vhost;
  /// local part -> stored stanzas, oldest first.
  std::unordered_map<std::string, std::deque<offline_message>> users;
  int64_t next_id = 0;

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  answer<delivery_verdict> keep(const jid& user, xml::element stanza) {
    auto& q = users[user.local()];
    if (max_messages > 0 && static_cast<int64_t>(q.size()) >= max_messages)
      return offline::queue_full(tag, domain, user.local(), max_messages);
    q.push_back({++next_id,
                 std::make_shared<const xml::element>(std::move(stanza))});
    return answer<delivery_verdict>::handled({true, {}});
  }
};

using offline_memory_actor = caf::stateful_actor<offline_memory_state>;

caf::behavior offline_memory(offline_memory_actor* self, std::string domain,
                             int64_t max_messages, caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.max_messages = max_messages;
  st.vhost = std::move(vhost);
  return {
    [self](const hooks::deliver& r)
      -> caf::result<answer<delivery_verdict>> {
      auto& st = self->state;
      return offline::deliver(
        self, r, st.domain, st.vhost, tag,
        [self](const jid& user, xml::element s)
          -> caf::expected<answer<delivery_verdict>> {
          return self->state.keep(user, std::move(s));
        });
    },
    [self](const hooks::offline_fetch& r)
      -> answer<std::vector<offline_message>> {
      using result = answer<std::vector<offline_message>>;
      auto& st = self->state;
      if (!st.ours(r.user))
        return result::decline();
      auto i = st.users.find(r.user.local());
      if (i == st.users.end())
        return result::handled({});
      return result::handled({i->second.begin(), i->second.end()});
    },
    [self](const hooks::offline_remove& r) -> answer<bool> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto i = st.users.find(r.user.local());
      if (i == st.users.end())
        return answer<bool>::handled(true);
      auto& q = i->second;
      q.erase(std::remove_if(q.begin(), q.end(),
                             [&](const offline_message& m) {
                               return std::find(r.ids.begin(), r.ids.end(),
                                                m.id)
                                      != r.ids.end();
                             }),
              q.end());
      if (q.empty())
        st.users.erase(i);
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type offline_memory_type() {
  return {
    tag,
    "XEP-0160 offline messages in memory (lost on restart)",
    {offline::max_messages_option()},
    [](const toml::table&) { return offline::offline_manifest(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(offline_memory, ctx.domain,
                           offline::max_messages(ctx, tag), ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins
