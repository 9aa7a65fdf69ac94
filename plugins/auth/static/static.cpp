// auth.static: accounts and passwords listed in the configuration.
// Serves auth.check_password and auth.user_exists; declines for users it
// does not list, so another auth plugin further down the chain may know
// them.

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/plugin.hpp"
#include "plugins/users.hpp"

namespace dja::plugins {

namespace {

caf::behavior auth_static(caf::event_based_actor*,
                          std::shared_ptr<const user_table> users) {
  using hooks::answer;
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
      return manifest{{"auth.check_password", "auth.user_exists"}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(auth_static, read_users(ctx.options));
    },
  };
}

} // namespace dja::plugins
