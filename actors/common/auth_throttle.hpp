#pragma once

// Brute-force defence: failed authentications are counted per remote
// address; once an address reaches the limit within the window, its
// further attempts are refused until the window has passed. Shared by all
// connections of a node; a short critical section, never a wait on I/O.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dja {

class auth_throttle {
public:
  using clock = std::chrono::steady_clock;

  auth_throttle(int limit, std::chrono::seconds window)
    : limit_(limit), window_(window) {
  }

  /// May `addr` try to authenticate now?
  bool allowed(const std::string& addr) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = failures_.find(addr);
    if (i == failures_.end())
      return true;
    if (clock::now() - i->second.since > window_) {
      failures_.erase(i);
      return true;
    }
    return i->second.count < limit_;
  }

  /// Records a failed attempt; true when this one reached the limit.
  bool failed(const std::string& addr) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    auto& e = failures_[addr];
    if (e.count == 0 || now - e.since > window_)
      e = entry{0, now};
    if (failures_.size() > max_entries)
      prune(now);
    return ++e.count == limit_;
  }

  /// A success clears the address.
  void succeeded(const std::string& addr) {
    std::lock_guard<std::mutex> guard{mtx_};
    failures_.erase(addr);
  }

private:
  static constexpr size_t max_entries = 100000;

  struct entry {
    int count = 0;
    clock::time_point since;
  };

  void prune(clock::time_point now) {
    for (auto i = failures_.begin(); i != failures_.end();)
      i = now - i->second.since > window_ ? failures_.erase(i) : std::next(i);
  }

  int limit_;
  std::chrono::seconds window_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> failures_;
};

} // namespace dja
