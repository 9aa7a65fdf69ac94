#pragma once

// The disco#info features of an account (its bare JID, XEP-0030 §3.1)
// that follow from the plugins of its vhost rather than from the one
// answering the query (plugins/disco, or plugins/pep which answers the
// accounts' disco when it is loaded): XEP-0313 §7 with an archive,
// XEP-0357 §4 with push notifications.

#include <algorithm>
#include <string>
#include <vector>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

inline std::vector<std::string> account_features(const manifest& vhost) {
  auto serves = [&](hooks::hook_id h) {
    return std::find(vhost.hooks.begin(), vhost.hooks.end(), h)
           != vhost.hooks.end();
  };
  std::vector<std::string> out;
  if (serves(hooks::id<hooks::archive_query>))
    for (auto f : {"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended"})
      out.emplace_back(f);
  if (serves(hooks::id<hooks::push_wake>))
    out.emplace_back("urn:xmpp:push:0");
  return out;
}

} // namespace dja::plugins
