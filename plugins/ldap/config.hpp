#pragma once

// The options of the `ldap` plugin and what they become. Which hook
// families it serves follows from which settings are there: the auth.*
// reads always (check_password, user_exists; list_users with `base`),
// vcard-temp gets (XEP-0054) with XEP-0153 hashes unless `vcard = false`,
// roster.get / roster.load_item (shared groups) with `group_base`. The
// directory is read-only: write hooks (set_password, register,
// remove_user) are not served and go to the next plugin. Errors name
// FILE:LINE: KEY (the option checks below).

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "hooks/plugin.hpp"
#include "plugins/ldap/directory.hpp"

namespace dja::plugins::ldap {

struct config {
  std::string tag; ///< "ldap: vhost D", for the log
  std::string domain;
  connection_settings conn;
  /// Users: searched under `base` by `filter` (search-then-bind), or
  /// bound directly as `bind_dn_template`.
  std::string base;
  std::string filter;
  std::string bind_dn_template;
  std::string uid_attribute; ///< the user name in an entry ("uid")
  /// vCards: the template made from vcard_map (vcard_map.hpp); "" none.
  std::string vcard_template;
  std::vector<std::string> vcard_attrs; ///< the attributes it reads
  bool avatar_hash = true;
  /// Shared roster groups; group_base "" none.
  std::string group_base;
  std::string group_filter;
  std::string member_attribute;     ///< member, uniqueMember, memberUid
  std::string group_name_attribute; ///< cn
  std::chrono::seconds cache_ttl{0};
  std::chrono::seconds negative_ttl{0};
  size_t pool_size = 2;

  /// Group members are user names (memberUid), not DNs.
  bool members_by_name() const;
};

/// The option schema (keys, checks).
std::vector<option_spec> options();

/// The hooks served, from which settings are there.
manifest describe(const toml::table& opts);

/// The configuration of the plugin of `ctx` (options already validated).
config configure(const spawn_context& ctx);

} // namespace dja::plugins::ldap
