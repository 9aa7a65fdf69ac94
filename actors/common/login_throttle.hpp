#pragma once

// Brute-force defence for SASL ([server] auth_fail_limit, auth_fail_window,
// auth_delay_max; RFC 6120 §6.4.5 lets a server limit retries). Failed
// authentications are counted per remote address AND per account (from
// any address), forgotten `window` after the last one. The first `free`
// failures of a key cost nothing; beyond them, the answers to that key's
// attempts (successes too, so that giving up early teaches nothing) are
// spaced: each one a step after the previous, the step doubling with
// every failure (1 s, 2 s, 4 s ... up to `max_delay`). Nobody is locked
// out: a user behind the guesser's NAT gets in after a delay. Only when
// the attempts queued for an address reach `max_delay` are new ones
// refused at once (temporary-auth-failure, which counts toward the
// stream's own retry limit). Shared by all connections of a node; a short
// critical section, never a wait on I/O.

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dja {

class login_throttle {
public:
  using clock = std::chrono::steady_clock;
  using duration = clock::duration;

  login_throttle(int free, std::chrono::seconds window,
                std::chrono::seconds max_delay = std::chrono::seconds{60})
    : free_(free), window_(window), max_delay_(max_delay) {
  }

  /// May `addr` start an attempt now (false: its queue is full)?
  bool allowed(const std::string& addr) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    auto i = by_addr_.find(addr);
    return i == by_addr_.end() || i->second.next - now <= max_delay_;
  }

  /// The attempt of `addr` on `account` is decided: how long to wait
  /// before answering it (zero: at once). Reserves that answer's slot.
  duration answer_delay(const std::string& addr, const std::string& account) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    auto d = std::max(reserve(by_addr_, addr, now),
                      reserve(by_account_, account, now));
    return std::min<duration>(d, max_delay_);
  }

  /// Records a failed attempt; true when it was the last free one (for a
  /// log line: answers to this address or account are slowed from now).
  bool failed(const std::string& addr, const std::string& account) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    auto a = count(by_addr_, addr, now);
    auto b = count(by_account_, account, now);
    return a == free_ || b == free_;
  }

  /// A success clears the account (not the address: an attacker behind it
  /// could otherwise reset it with an account of its own).
  void succeeded(const std::string& account) {
    std::lock_guard<std::mutex> guard{mtx_};
    by_account_.erase(account);
  }

private:
  static constexpr size_t max_entries = 100000;

  struct entry {
    int failures = 0;
    clock::time_point last; ///< of the last failure
    clock::time_point next; ///< the earliest time for the next answer
  };

  using table = std::unordered_map<std::string, entry>;

  /// The time until `key`'s next answer, which is then due a step later.
  duration reserve(table& t, const std::string& key, clock::time_point now) {
    auto i = t.find(key);
    if (i == t.end() || expired(i->second, now))
      return duration::zero();
    auto& e = i->second;
    auto at = std::max(now, e.next);
    e.next = at + step(e.failures);
    return at - now;
  }

  int count(table& t, const std::string& key, clock::time_point now) {
    if (t.size() > max_entries)
      prune(t, now);
    auto& e = t[key];
    if (expired(e, now))
      e = entry{0, now, now};
    e.last = now;
    return ++e.failures;
  }

  bool expired(const entry& e, clock::time_point now) const {
    return now - e.last > window_;
  }

  duration step(int failures) const {
    if (failures < free_)
      return duration::zero();
    auto n = std::min(failures - free_, 16);
    return std::min<duration>(std::chrono::seconds{1} * (1 << n), max_delay_);
  }

  void prune(table& t, clock::time_point now) {
    for (auto i = t.begin(); i != t.end();)
      i = expired(i->second, now) ? t.erase(i) : std::next(i);
  }

  int free_;
  std::chrono::seconds window_;
  std::chrono::seconds max_delay_;
  std::mutex mtx_;
  table by_addr_;
  table by_account_;
};

} // namespace dja
