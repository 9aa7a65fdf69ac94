// blocking.memory: XEP-0191 block lists kept in the plugin's memory (for
// all-in-memory configurations and tests; lost when the server stops or
// the plugin is restarted). The hooks are plugins/blocking/serve.hpp.

#include <map>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>

#include "plugins/blocking/serve.hpp"

namespace dja::plugins {

namespace {

class memory_backend : public blocking::backend {
public:
  caf::expected<std::vector<std::string>>
  list(const std::string& user) override {
    auto i = lists_.find(user);
    if (i == lists_.end())
      return std::vector<std::string>{};
    return std::vector<std::string>{i->second.begin(), i->second.end()};
  }

  caf::error add(const std::string& user,
                 const std::vector<std::string>& items) override {
    lists_[user].insert(items.begin(), items.end());
    return {};
  }

  caf::expected<std::vector<std::string>>
  remove(const std::string& user,
         const std::vector<std::string>& items) override {
    std::vector<std::string> removed;
    auto i = lists_.find(user);
    if (i == lists_.end())
      return removed;
    if (items.empty()) {
      removed.assign(i->second.begin(), i->second.end());
      lists_.erase(i);
      return removed;
    }
    for (auto& s : items)
      if (i->second.erase(s) > 0)
        removed.push_back(s);
    if (i->second.empty())
      lists_.erase(i);
    return removed;
  }

private:
  std::unordered_map<std::string, std::set<std::string>> lists_;
};

} // namespace

DJA_PLUGIN(blocking_memory) {
  return {
    "blocking.memory",
    "XEP-0191 block lists in memory (lost on restart)",
    {},
    [](const toml::table&) { return blocking::describe(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(blocking::serve, ctx.domain,
                           std::string{"blocking.memory"},
                           std::shared_ptr<blocking::backend>{
                             std::make_shared<memory_backend>()});
    },
  };
}

} // namespace dja::plugins
