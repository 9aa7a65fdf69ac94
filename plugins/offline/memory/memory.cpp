// offline.memory: XEP-0160 offline messages (plugins/offline/serve.hpp)
// kept in the plugin's memory (for all-in-memory configurations and
// tests; lost when the server stops or the plugin is restarted).

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "plugins/offline/serve.hpp"

namespace dja::plugins {

namespace {

class memory_backend : public offline::backend {
public:
  caf::error start() override {
    return {};
  }

  bool blocking() const override {
    return false;
  }

  caf::expected<bool> add(const std::string& user, const std::string& stanza,
                          int64_t max) override {
    auto& q = users_[user];
    if (max > 0 && static_cast<int64_t>(q.size()) >= max)
      return false;
    q.emplace_back(++next_id_, stanza);
    return true;
  }

  caf::expected<std::vector<offline::row>>
  fetch(const std::string& user) override {
    auto i = users_.find(user);
    if (i == users_.end())
      return std::vector<offline::row>{};
    return std::vector<offline::row>{i->second.begin(), i->second.end()};
  }

  caf::error remove(const std::string& user,
                    const std::vector<int64_t>& ids) override {
    auto i = users_.find(user);
    if (i == users_.end())
      return {};
    auto& q = i->second;
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const offline::row& m) {
                             return std::find(ids.begin(), ids.end(), m.first)
                                    != ids.end();
                           }),
            q.end());
    if (q.empty())
      users_.erase(i);
    return {};
  }

private:
  /// local part -> stored stanzas, oldest first.
  std::unordered_map<std::string, std::deque<offline::row>> users_;
  int64_t next_id_ = 0;
};

} // namespace

DJA_PLUGIN(offline_memory) {
  return offline::make_type(
    "offline.memory", "XEP-0160 offline messages in memory (lost on restart)",
    {}, [](const spawn_context&) {
      return std::make_shared<memory_backend>();
    });
}

} // namespace dja::plugins
