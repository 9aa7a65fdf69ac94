// access.address: refuses streams by the client's remote address
// (connection.accepted). `deny` wins over `allow`; with a non-empty
// `allow`, every address not in it is refused. Entries are addresses or
// CIDR prefixes ("127.0.0.0/8", "::1/128").

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <optional>

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

/// An address family, 16 address bytes (IPv4 in the first 4) and a prefix.
struct prefix {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  int bits = 0;
};

std::optional<prefix> parse_prefix(const std::string& text) {
  prefix p;
  auto slash = text.find('/');
  auto addr = text.substr(0, slash);
  p.family = addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(p.family, addr.c_str(), p.bytes.data()) != 1)
    return std::nullopt;
  int max = p.family == AF_INET ? 32 : 128;
  p.bits = max;
  if (slash != std::string::npos) {
    try {
      p.bits = std::stoi(text.substr(slash + 1));
    } catch (...) {
      return std::nullopt;
    }
    if (p.bits < 0 || p.bits > max)
      return std::nullopt;
  }
  return p;
}

bool matches(const prefix& p, const prefix& addr) {
  if (p.family != addr.family)
    return false;
  for (int i = 0; i < p.bits; ++i) {
    auto mask = static_cast<unsigned char>(0x80 >> (i % 8));
    if ((p.bytes[i / 8] & mask) != (addr.bytes[i / 8] & mask))
      return false;
  }
  return true;
}

std::vector<prefix> read_list(const toml::table& opts, const char* key) {
  std::vector<prefix> out;
  if (auto arr = opts[key].as_array())
    for (auto& v : *arr)
      if (auto s = v.value<std::string>())
        if (auto p = parse_prefix(*s))
          out.push_back(*p);
  return out;
}

bool any(const std::vector<prefix>& list, const prefix& addr) {
  for (auto& p : list)
    if (matches(p, addr))
      return true;
  return false;
}

caf::behavior access_address(caf::event_based_actor*, std::vector<prefix> allow,
                             std::vector<prefix> deny) {
  using hooks::answer;
  return {
    [=](const hooks::connection_accepted& r) -> answer<bool> {
      auto addr = parse_prefix(r.remote_addr);
      if (!addr) // CAF may report IPv4 clients as IPv4-mapped IPv6
        return answer<bool>::decline();
      if (any(deny, *addr))
        return answer<bool>::handled(false);
      if (!allow.empty() && !any(allow, *addr))
        return answer<bool>::handled(false);
      return answer<bool>::decline();
    },
  };
}

} // namespace

DJA_PLUGIN(access_address) {
  return {
    "access.address",
    "refuses client streams by remote address (allow / deny lists)",
    {{"allow", option_type::string_list, false,
      "addresses or CIDR prefixes allowed (empty: all)"},
     {"deny", option_type::string_list, false,
      "addresses or CIDR prefixes refused"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::connection_accepted>}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(access_address, read_list(ctx.options, "allow"),
                           read_list(ctx.options, "deny"));
    },
  };
}

} // namespace dja::plugins
