// Connection counts per address and in total (connection_limits.hpp).

#include "listener/connection_limits.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <cstring>

namespace dja {

namespace {

/// File descriptors kept for databases, logs, certificates and outgoing
/// connections when the bound comes from RLIMIT_NOFILE.
constexpr std::size_t fd_reserve = 256;

/// Refusal counts kept for at most this many addresses (log only).
constexpr std::size_t max_refusal_entries = 10000;

std::size_t from_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  auto n = static_cast<std::size_t>(rl.rlim_cur);
  return n > 2 * fd_reserve ? n - fd_reserve : n / 2;
}

} // namespace

connection_limits::connection_limits(std::size_t total,
                                     std::size_t per_address)
  : max_total_(total != 0 ? total : from_fd_limit()),
    per_address_(per_address) {
  // nop
}

void connection_limits::set_bounds(std::size_t total,
                                   std::size_t per_address) {
  max_total_ = total != 0 ? total : from_fd_limit();
  per_address_ = per_address;
}

connection_limits::verdict connection_limits::admit(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (max_total_ != 0 && total_ >= max_total_)
    return verdict::server_full;
  auto& e = open_[key];
  if (per_address_ != 0 && e.open >= per_address_)
    return verdict::address_full;
  ++e.open;
  ++total_;
  return verdict::ok;
}

void connection_limits::release(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = open_.find(key);
  if (i == open_.end())
    return;
  --total_;
  if (--i->second.open == 0)
    open_.erase(i);
}

std::string connection_limits::key_of(const std::string& addr) {
  in6_addr a6{};
  if (inet_pton(AF_INET6, addr.c_str(), &a6) != 1)
    return addr; // IPv4 (or not an address at all)
  char buf[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    in_addr a4{};
    std::memcpy(&a4, a6.s6_addr + 12, 4);
    inet_ntop(AF_INET, &a4, buf, sizeof(buf));
    return buf;
  }
  std::memset(a6.s6_addr + 8, 0, 8);
  inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
  return std::string{buf} + "/64";
}

std::size_t connection_limits::to_log(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = clock::now();
  if (refused_.size() > max_refusal_entries)
    refused_.clear();
  auto [i, fresh] = refused_.try_emplace(key);
  auto& r = i->second;
  ++r.count;
  if (!fresh && now - r.logged < std::chrono::seconds{10})
    return 0;
  auto n = r.count;
  r.count = 0;
  r.logged = now;
  return n;
}

std::size_t connection_limits::total() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return total_;
}

} // namespace dja
