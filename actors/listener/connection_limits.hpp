#pragma once

// Open connections per remote address and in total, shared by every
// listener of a node ([limits] max_connections_per_address and
// max_connections). A connection over either bound is refused with a
// stream error before any actor is spawned for it (listener.cpp).
// IPv6 addresses count by their /64: one host usually has a whole /64.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dja {

class connection_limits {
public:
  using clock = std::chrono::steady_clock;

  /// `total` 0: derived from the open-file limit; `per_address` 0:
  /// unbounded.
  connection_limits(std::size_t total, std::size_t per_address);

  enum class verdict { ok, address_full, server_full };

  /// Counts a new connection from `key` (see key_of), unless that would
  /// pass a bound.
  verdict admit(const std::string& key);

  /// A connection counted by admit() closed.
  void release(const std::string& key);

  /// The counting key of a remote address: IPv4 as is (also when mapped
  /// into IPv6), IPv6 as its /64 prefix.
  static std::string key_of(const std::string& addr);

  /// Refusals of `key` since the last log line, when one should be
  /// written now (at most one line per address every 10 s), else 0.
  std::size_t to_log(const std::string& key);

  std::size_t total() const;
  std::size_t max_total() const {
    return max_total_;
  }

  /// A reload changed [limits]: the new bounds apply to the next
  /// admit(); open connections over them stay open.
  void set_bounds(std::size_t total, std::size_t per_address);

private:
  struct entry {
    std::size_t open = 0;
  };
  struct refusals {
    std::size_t count = 0;
    clock::time_point logged;
  };

  std::atomic<std::size_t> max_total_;
  std::atomic<std::size_t> per_address_;
  mutable std::mutex mtx_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, entry> open_;
  std::unordered_map<std::string, refusals> refused_;
};

} // namespace dja
