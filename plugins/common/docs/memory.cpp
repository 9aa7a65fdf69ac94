// docs::memory_store(): the documents of plugins/common/docs/store.hpp in
// the plugin's memory (for all-in-memory configurations and tests; lost
// when the server stops or the plugin is restarted).

#include <unordered_map>

#include "plugins/common/docs/store.hpp"

namespace dja::plugins::docs {

namespace {

class memory : public store {
public:
  caf::error start() override {
    return {};
  }

  bool blocking() const override {
    return false;
  }

  caf::expected<doc> get(const std::string& user,
                         const std::string& key) override {
    auto u = users_.find(user);
    if (u == users_.end())
      return doc{};
    auto d = u->second.find(key);
    return d == u->second.end() ? doc{} : d->second;
  }

  caf::error put(const std::string& user, const doc_list& docs,
                 int64_t updated) override {
    auto& u = users_[user];
    for (auto& [key, value] : docs)
      u[key] = doc{true, value, updated};
    return {};
  }

  caf::error remove(const std::string& user,
                    const std::string& key) override {
    auto u = users_.find(user);
    if (u != users_.end() && u->second.erase(key) > 0 && u->second.empty())
      users_.erase(u);
    return {};
  }

  caf::expected<std::map<std::string, int64_t>>
  sizes(const std::string& user) override {
    std::map<std::string, int64_t> out;
    if (auto u = users_.find(user); u != users_.end())
      for (auto& [key, d] : u->second)
        out[key] = static_cast<int64_t>(d.value.size());
    return out;
  }

private:
  std::unordered_map<std::string, std::map<std::string, doc>> users_;
};

} // namespace

std::shared_ptr<store> memory_store() {
  return std::make_shared<memory>();
}

} // namespace dja::plugins::docs
