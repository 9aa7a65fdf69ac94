#pragma once

// Reading a `users = { name = "password" }` option (auth.static and the
// test plugins): names are prepared as JID local parts.

#include <memory>
#include <string>
#include <unordered_map>

#include <toml++/toml.h>

#include "common/jid.hpp"

namespace dja::plugins {

using user_table = std::unordered_map<std::string, std::string>;

inline std::shared_ptr<const user_table> read_users(const toml::table& opts) {
  auto out = std::make_shared<user_table>();
  if (auto users = opts["users"].as_table())
    for (auto& [name, pw] : *users)
      if (auto local = jid::prep_local(std::string{name.str()}))
        if (auto s = pw.value<std::string>())
          (*out)[*local] = *s;
  return out;
}

/// Compares without an early exit, so timing does not leak the password.
inline bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

} // namespace dja::plugins
