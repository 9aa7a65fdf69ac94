#pragma once

// A cache of read results shared by the workers of one user-base plugin
// (sql rows, ldap entries): found values kept for `cache_ttl`, "none
// found" for `negative_ttl`, expired entries dropped when the map grows
// (no timer thread). Thread-safe: the workers are detached threads.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace dja::plugins {

template <class Value>
class ttl_cache {
public:
  using clock = std::chrono::steady_clock;

  /// The value cached under `key`, unless expired.
  std::optional<Value> get(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = values_.find(key);
    if (i == values_.end())
      return std::nullopt;
    if (i->second.first <= clock::now()) {
      values_.erase(i);
      return std::nullopt;
    }
    return i->second.second;
  }

  /// Keeps `v` under `key` for `ttl` (nothing when ttl <= 0).
  void put(const std::string& key, const Value& v, clock::duration ttl) {
    if (ttl <= clock::duration::zero())
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    if (values_.size() >= max_entries) {
      auto now = clock::now();
      for (auto i = values_.begin(); i != values_.end();)
        i = i->second.first <= now ? values_.erase(i) : std::next(i);
    }
    values_[key] = {clock::now() + ttl, v};
  }

  /// Forgets every value (a write went through the plugin, or the
  /// operator's invalidation).
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    values_.clear();
  }

private:
  static constexpr size_t max_entries = 4096;
  std::mutex mtx_;
  std::map<std::string, std::pair<clock::time_point, Value>> values_;
};

} // namespace dja::plugins
