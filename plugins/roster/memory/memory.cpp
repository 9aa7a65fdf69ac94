// roster.memory: rosters kept in the plugin actor's memory, per bare JID
// (for all-in-memory configurations and tests; everything is lost when the
// actor stops). Serves every roster.* hook for users of its vhost's domain
// and declines the others.
//
// Versioning (RFC 6121 §2.6): a per-user counter, as a decimal string,
// bumped by every set_item, by every remove_item that removed an item and
// by every wipe. A wipe keeps the counter, so a client that cached a roster
// of a deleted account never sees the same version for the new account's
// roster.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;

struct user_roster {
  uint64_t version = 0;
  std::map<std::string, hooks::roster_item> items; ///< by contact bare JID
};

struct memory_state {
  static inline const char* name = "roster.memory";

  std::string domain;
  std::unordered_map<std::string, user_roster> users; ///< by local part

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }
};

using memory_actor = caf::stateful_actor<memory_state>;

/// The item as stored: bare contact, groups sorted without duplicates.
hooks::roster_item normalized(hooks::roster_item item) {
  item.contact = item.contact.bare();
  auto& g = item.groups;
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return item;
}

caf::behavior roster_memory(memory_actor* self, std::string domain) {
  self->state.domain = std::move(domain);
  return {
    [self](const hooks::roster_get& r) -> answer<hooks::roster> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<hooks::roster>::decline();
      hooks::roster out;
      out.version = "0";
      if (auto i = st.users.find(r.user.local()); i != st.users.end()) {
        out.version = std::to_string(i->second.version);
        for (auto& kv : i->second.items)
          out.items.push_back(kv.second);
      }
      return answer<hooks::roster>::handled(std::move(out));
    },
    [self](const hooks::roster_load_item& r)
      -> answer<std::vector<hooks::roster_item>> {
      using result = answer<std::vector<hooks::roster_item>>;
      auto& st = self->state;
      if (!st.ours(r.user))
        return result::decline();
      std::vector<hooks::roster_item> out;
      if (auto i = st.users.find(r.user.local()); i != st.users.end())
        if (auto j = i->second.items.find(r.contact.bare_str());
            j != i->second.items.end())
          out.push_back(j->second);
      return result::handled(std::move(out));
    },
    [self](const hooks::roster_set_item& r) -> answer<std::string> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<std::string>::decline();
      auto& u = st.users[r.user.local()];
      auto item = normalized(r.item);
      u.items[item.contact.str()] = std::move(item);
      return answer<std::string>::handled(std::to_string(++u.version));
    },
    [self](const hooks::roster_remove_item& r) -> answer<std::string> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<std::string>::decline();
      auto& u = st.users[r.user.local()];
      if (u.items.erase(r.contact.bare_str()) > 0)
        ++u.version;
      return answer<std::string>::handled(std::to_string(u.version));
    },
    [self](const hooks::roster_wipe& r) -> answer<bool> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto& u = st.users[r.user.local()];
      u.items.clear();
      ++u.version;
      return answer<bool>::handled(true);
    },
  };
}

} // namespace

plugin_type roster_memory_type() {
  return {
    "roster.memory",
    "rosters in memory (lost on restart; for tests and small setups)",
    {},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::roster_get>,
                       hooks::id<hooks::roster_load_item>,
                       hooks::id<hooks::roster_set_item>,
                       hooks::id<hooks::roster_remove_item>,
                       hooks::id<hooks::roster_wipe>},
                      {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(roster_memory, ctx.domain);
    },
  };
}

} // namespace dja::plugins
