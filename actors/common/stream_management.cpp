// XEP-0198 counters and the table of resumable sessions (see
// stream_management.hpp).

#include "common/stream_management.hpp"

#include <charconv>
#include <random>

namespace dja::sm {

std::optional<uint32_t> parse_h(std::string_view s) {
  uint32_t v = 0;
  auto end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end)
    return std::nullopt;
  return v;
}

std::optional<uint32_t> newly_acked(uint32_t acked, uint32_t h,
                                    std::size_t outstanding) {
  // Unsigned subtraction is modulo 2^32: after a wrap, h = 3 with
  // acked = 2^32 - 2 acknowledges 5 stanzas.
  uint32_t n = h - acked;
  if (n > outstanding)
    return std::nullopt;
  return n;
}

std::string registry::add(const caf::actor& session) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string id = node_.empty() ? std::string{"dja"} : node_;
  id += '.';
  for (int w = 0; w < 2; ++w) {
    auto n = rng();
    for (int i = 0; i < 16; ++i, n >>= 4)
      id += digits[n & 15];
  }
  std::lock_guard<std::mutex> guard{mtx_};
  ids_[id] = session;
  return id;
}

caf::actor registry::find(const std::string& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = ids_.find(id);
  return i == ids_.end() ? caf::actor{} : i->second;
}

void registry::remove(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  ids_.erase(id);
}

std::vector<caf::actor> registry::sessions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<caf::actor> out;
  for (auto& kv : ids_)
    out.push_back(kv.second);
  return out;
}

std::string_view registry::node_of(std::string_view id) {
  auto dot = id.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : id.substr(0, dot);
}

} // namespace dja::sm
