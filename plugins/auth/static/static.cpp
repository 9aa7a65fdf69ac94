// auth.static: accounts and passwords listed in the configuration.
// Serves auth.check_password, auth.user_exists and auth.get_scram;
// declines for users it does not list, so another auth plugin further
// down the chain may know them.
//
// SCRAM credentials are derived from the plain password on first use (per
// user and hash) with a deterministic salt, so they stay the same across
// restarts: the first 16 bytes of SHA-256("djabberd-actors static salt"
// NUL domain NUL user), 4096 iterations.

#include <map>
#include <memory>
#include <utility>

#include <caf/all.hpp>

#include "common/crypto.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/users.hpp"

namespace dja::plugins {

namespace {

constexpr uint32_t scram_iterations = 4096;
constexpr size_t scram_salt_size = 16;

/// (user, hash name) -> derived credentials.
using scram_cache
  = std::map<std::pair<std::string, std::string>, hooks::scram_credentials>;

caf::behavior auth_static(caf::event_based_actor*,
                          std::shared_ptr<const user_table> users,
                          std::string domain) {
  using hooks::answer;
  auto cache = std::make_shared<scram_cache>();
  return {
    [users](const hooks::auth_check_password& r) -> answer<bool> {
      auto i = users->find(r.user.local());
      if (i == users->end())
        return answer<bool>::decline();
      return answer<bool>::handled(same_secret(i->second, r.password));
    },
    [users](const hooks::auth_user_exists& r) -> answer<bool> {
      if (users->count(r.user.local()) == 0)
        return answer<bool>::decline();
      return answer<bool>::handled(true);
    },
    [users, domain, cache](const hooks::auth_get_scram& r)
      -> answer<hooks::scram_credentials> {
      using result = answer<hooks::scram_credentials>;
      auto i = users->find(r.user.local());
      auto h = crypto::hash_from_name(r.hash);
      if (i == users->end() || !h)
        return result::decline();
      auto key = std::make_pair(i->first, r.hash);
      if (auto c = cache->find(key); c != cache->end())
        return result::handled(c->second);
      std::string label = "djabberd-actors static salt";
      label += '\0';
      label += domain;
      label += '\0';
      label += i->first;
      auto salt = crypto::digest(crypto::hash_fn::sha256, label)
                    .substr(0, scram_salt_size);
      auto creds = scram::derive(*h, i->second, std::move(salt),
                                 scram_iterations);
      cache->emplace(std::move(key), creds);
      return result::handled(std::move(creds));
    },
  };
}

} // namespace

plugin_type auth_static_type() {
  return {
    "auth.static",
    "accounts and plain passwords listed in the configuration",
    {{"users", option_type::string_map, true,
      "user name -> password, e.g. { alice = \"secret\" }"}},
    [](const toml::table&) {
      return manifest{
        {hooks::id<hooks::auth_check_password>,
         hooks::id<hooks::auth_user_exists>, hooks::id<hooks::auth_get_scram>},
        {},
        {},
        {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(auth_static, read_users(ctx.options), ctx.domain);
    },
  };
}

} // namespace dja::plugins
