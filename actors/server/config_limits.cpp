// Validation of the `[limits]` table: the resource bounds of
// actors/common/limits.hpp, each an integer in a range.
//
//   [limits]
//   c2s_stanza_size = 262144      # bytes
//   write_buffer    = 1048576     # bytes unwritten per connection
//   max_resources   = 100         # per account
//   ...

#include <algorithm>
#include <functional>
#include <string_view>

#include "server/config_detail.hpp"

namespace dja::config::detail {

namespace {

/// One key: its range, unit and where the value goes.
struct limit_key {
  std::string_view name;
  int64_t lo;
  int64_t hi;
  std::string_view unit;
  std::function<void(limits&, int64_t)> set;
};

template <class T>
std::function<void(limits&, int64_t)> to(T limits::*field) {
  return [field](limits& l, int64_t v) { l.*field = static_cast<T>(v); };
}

std::function<void(limits&, int64_t)>
to(std::chrono::seconds limits::*field) {
  return [field](limits& l, int64_t v) { l.*field = std::chrono::seconds{v}; };
}

constexpr int64_t mib64 = 64 * 1024 * 1024;

const std::vector<limit_key>& keys() {
  static const std::vector<limit_key> all{
    {"c2s_stanza_size", 1024, mib64, " (bytes)", to(&limits::c2s_stanza_size)},
    {"s2s_stanza_size", 1024, mib64, " (bytes)", to(&limits::s2s_stanza_size)},
    {"preauth_stanza_size", 1024, mib64, " (bytes)",
     to(&limits::preauth_stanza_size)},
    {"write_buffer", 16 * 1024, 1024 * mib64, " (bytes)",
     to(&limits::write_buffer)},
    {"c2s_rate", 0, 1024 * mib64, " (bytes per second, 0 = unbounded)",
     to(&limits::c2s_rate)},
    {"s2s_rate", 0, 1024 * mib64, " (bytes per second, 0 = unbounded)",
     to(&limits::s2s_rate)},
    {"rate_burst", 4096, 1024 * mib64, " (bytes)", to(&limits::rate_burst)},
    {"max_connections", 0, 10000000, " (connections, 0 = from the fd limit)",
     to(&limits::max_connections)},
    {"max_connections_per_address", 0, 10000000,
     " (connections, 0 = unbounded)",
     to(&limits::max_connections_per_address)},
    {"c2s_idle_timeout", 1, 86400, " (seconds)",
     to(&limits::c2s_idle_timeout)},
    {"c2s_ping_timeout", 1, 3600, " (seconds)",
     to(&limits::c2s_ping_timeout)},
    {"max_resources", 1, 100000, " (per account)",
     to(&limits::max_resources)},
    {"max_pending_subscriptions", 1, 1000000, " (per user)",
     to(&limits::max_pending_subscriptions)},
    {"max_iqs_in_flight", 1, 100000, " (per session)",
     to(&limits::max_iqs_in_flight)},
    {"resume_timeout", 0, 86400, " (seconds, 0 = no resumption)",
     to(&limits::resume_timeout)},
    {"max_unacked", 1, 1000000, " (stanzas per stream)",
     to(&limits::max_unacked)},
    {"csi_queue", 1, 100000, " (stanzas per session)",
     to(&limits::csi_queue)},
  };
  return all;
}

std::string key_list() {
  std::string out = "one of the keys";
  for (auto& k : keys()) {
    out += out.back() == 's' ? " " : ", ";
    out += k.name;
  }
  return out;
}

} // namespace

void check_limits(const toml::node& n, const std::string& file, limits& out,
                  std::vector<config_error>& errors) {
  auto line_of = [](const auto& x) {
    return static_cast<int64_t>(x.source().begin.line);
  };
  auto t = n.as_table();
  if (t == nullptr) {
    errors.push_back({file, line_of(n), "limits", "a table ([limits])" + got(n)});
    return;
  }
  for (auto&& [k, v] : *t) {
    auto key = join_key("limits", k.str());
    // A copy of the binding `k`: C++17 lambdas cannot capture structured
    // bindings (clang refuses it; bench/fuzz.sh builds with clang).
    std::string_view name = k.str();
    auto it = std::find_if(keys().begin(), keys().end(),
                           [&](const limit_key& lk) { return name == lk.name; });
    if (it == keys().end()) {
      errors.push_back({file, line_of(k), key, key_list()});
      continue;
    }
    if (auto err = int_error(v, it->lo, it->hi, it->unit); !err.empty())
      errors.push_back({file, line_of(v), key, std::move(err)});
    else
      it->set(out, v.as_integer()->get());
  }
}

} // namespace dja::config::detail
