// roster.memory: rosters kept in the plugin's memory (for all-in-memory
// configurations and tests; everything is lost when the actor stops). The
// hooks are plugins/roster/serve.hpp; this is the store. Not detached:
// nothing here blocks.
//
// Versioning (RFC 6121 §2.6): a per-user counter, as a decimal string,
// bumped by every set, by every removal that removed an item and by every
// wipe (which keeps the counter).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "plugins/roster/serve.hpp"

namespace dja::plugins {

namespace {

/// One plugin instance serves one domain: users are keyed by local part.
class store : public roster::backend {
public:
  caf::expected<hooks::roster> get(const std::string&,
                                   const std::string& user) override {
    hooks::roster out;
    out.version = "0";
    if (auto i = users_.find(user); i != users_.end()) {
      out.version = std::to_string(i->second.version);
      for (auto& kv : i->second.items)
        out.items.push_back(kv.second);
    }
    return out;
  }

  caf::expected<std::vector<hooks::roster_item>>
  load(const std::string&, const std::string& user,
       const std::string& contact) override {
    std::vector<hooks::roster_item> out;
    if (auto i = users_.find(user); i != users_.end())
      if (auto j = i->second.items.find(contact); j != i->second.items.end())
        out.push_back(j->second);
    return out;
  }

  caf::expected<std::string> set(const std::string&, const std::string& user,
                                 const hooks::roster_item& item) override {
    auto& u = users_[user];
    u.items[item.contact.str()] = item;
    return std::to_string(++u.version);
  }

  caf::expected<std::string> remove(const std::string&,
                                    const std::string& user,
                                    const std::string& contact) override {
    auto& u = users_[user];
    if (u.items.erase(contact) > 0)
      ++u.version;
    return std::to_string(u.version);
  }

  caf::error wipe(const std::string&, const std::string& user) override {
    auto& u = users_[user];
    u.items.clear();
    ++u.version;
    return {};
  }

  caf::expected<size_t> count(const std::string&,
                              const std::string& user) override {
    auto i = users_.find(user);
    return i == users_.end() ? size_t{0} : i->second.items.size();
  }

private:
  struct user_roster {
    uint64_t version = 0;
    std::map<std::string, hooks::roster_item> items; ///< by contact
  };

  std::unordered_map<std::string, user_roster> users_; ///< by local part
};

} // namespace

DJA_PLUGIN(roster_memory) {
  return {
    "roster.memory",
    "rosters in memory (lost on restart; for tests and small setups)",
    roster::options(),
    [](const toml::table&) { return roster::describe(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(roster::serve,
                           roster::settings_of(ctx, "roster.memory"),
                           std::shared_ptr<roster::backend>{
                             std::make_shared<store>()});
    },
  };
}

} // namespace dja::plugins
