// mam.memory: XEP-0313 user archives (plugins/mam/serve.hpp) kept in the
// plugin's memory (for all-in-memory configurations and tests; lost when
// the server stops or the plugin is restarted).

#include <algorithm>
#include <map>
#include <unordered_map>

#include "plugins/mam/serve.hpp"

namespace dja::plugins {

namespace {

using mam::filter;
using mam::row;

bool matches(const row& r, const filter& f) {
  if (!f.with_bare.empty()
      && (r.with_bare != f.with_bare
          || (f.with_resource && r.with_resource != *f.with_resource)))
    return false;
  if (r.stamp_us < f.start_us || r.stamp_us > f.end_us)
    return false;
  if (r.seq <= f.after_seq || r.seq >= f.before_seq)
    return false;
  return f.ids.empty()
         || std::find(f.ids.begin(), f.ids.end(), r.id) != f.ids.end();
}

class memory_backend : public mam::backend {
public:
  caf::error start() override {
    return {};
  }

  bool blocking() const override {
    return false;
  }

  caf::error append(const row* rows, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      auto& r = rows[i];
      auto& a = users_[r.user];
      if (a.ids.count(r.id) > 0)
        continue;
      auto w = r;
      w.seq = ++next_seq_;
      a.ids.emplace(w.id, w.seq);
      a.rows.emplace(w.seq, std::move(w));
    }
    return {};
  }

  caf::expected<std::optional<int64_t>>
  seq_of(const std::string& user, const std::string& id) override {
    if (auto a = find(user))
      if (auto i = a->ids.find(id); i != a->ids.end())
        return std::optional<int64_t>{i->second};
    return std::optional<int64_t>{};
  }

  caf::expected<std::vector<row>> select(const std::string& user,
                                         const filter& f, int64_t limit,
                                         bool backward,
                                         int64_t offset) override {
    std::vector<row> out;
    auto a = find(user);
    if (a == nullptr)
      return out;
    auto take = [&](const row& r) {
      if (!matches(r, f))
        return true;
      if (offset > 0) {
        --offset;
        return true;
      }
      out.push_back(r);
      return static_cast<int64_t>(out.size()) < limit;
    };
    if (backward) {
      for (auto i = a->rows.rbegin(); i != a->rows.rend(); ++i)
        if (!take(i->second))
          break;
    } else {
      for (auto& [seq, r] : a->rows)
        if (!take(r))
          break;
    }
    return out;
  }

  caf::expected<int64_t> count(const std::string& user,
                               const filter& f) override {
    auto a = find(user);
    if (a == nullptr)
      return int64_t{0};
    return static_cast<int64_t>(std::count_if(
      a->rows.begin(), a->rows.end(),
      [&](const auto& kv) { return matches(kv.second, f); }));
  }

  caf::expected<std::optional<std::string>>
  get_prefs(const std::string& user) override {
    if (auto i = prefs_.find(user); i != prefs_.end())
      return std::optional<std::string>{i->second};
    return std::optional<std::string>{};
  }

  caf::error set_prefs(const std::string& user,
                       const std::string& prefs) override {
    prefs_[user] = prefs;
    return {};
  }

  caf::expected<int64_t> prune(int64_t before_us,
                               int64_t max_per_user) override {
    int64_t n = 0;
    for (auto& [user, a] : users_) {
      for (auto i = a.rows.begin(); i != a.rows.end();) {
        bool old = i->second.stamp_us < before_us;
        bool over = max_per_user > 0
                    && static_cast<int64_t>(a.rows.size()) > max_per_user;
        if (!old && !over)
          break; // rows are in stamp order; the rest are newer
        a.ids.erase(i->second.id);
        i = a.rows.erase(i);
        ++n;
      }
    }
    return n;
  }

private:
  struct archive {
    std::map<int64_t, row> rows;                  ///< by seq
    std::unordered_map<std::string, int64_t> ids; ///< id -> seq
  };

  archive* find(const std::string& user) {
    auto i = users_.find(user);
    return i == users_.end() ? nullptr : &i->second;
  }

  std::unordered_map<std::string, archive> users_;
  std::unordered_map<std::string, std::string> prefs_;
  int64_t next_seq_ = 0;
};

} // namespace

DJA_PLUGIN(mam_memory) {
  return mam::make_type(
    "mam.memory", "XEP-0313 message archives in memory (lost on restart)", {},
    [](const spawn_context&) { return std::make_shared<memory_backend>(); });
}

} // namespace dja::plugins
