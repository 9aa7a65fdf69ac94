#pragma once

// The options of the `sql` plugin and what they become: which database,
// the operator's queries compiled for its driver, the password format,
// the vCard template and the cache. Openfire's JDBC provider names are
// accepted as aliases (passwordSQL, passwordType, setPasswordSQL,
// allowUpdate, loadUserSQL, allUsersSQL, userGroupsSQL, loadMembersSQL),
// so an Openfire setup carries over. Every query is checked at config
// time (placeholders, quotes) and the error names FILE:LINE: KEY.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/sql/driver.hpp"
#include "plugins/sql/password.hpp"
#include "plugins/sql/query.hpp"

namespace dja::plugins::sql {

/// The queries an operator may set; an empty one is not set.
struct queries {
  query password;       ///< the stored password row of :user
  query check_password; ///< a row (true) when :password is right
  query user_exists;    ///< a row when :user exists
  query set_password;   ///< UPDATE with :password (in the stored form)
  query register_user;  ///< INSERT with :user and :password
  query remove_user;    ///< DELETE of :user
  query list_users;     ///< the user names of :domain
  query roster;         ///< contact, name, subscription, group of :user
  query user_groups;    ///< the shared groups of :user
  query group_members;  ///< the members of :group
  query vcard;          ///< one row of columns for the vCard template
  query presence;       ///< presence rows of :user (show, status, resource)
};

/// A validated configuration.
struct config {
  std::string tag; ///< "sql: vhost D", for the log
  std::string domain;
  std::string driver; ///< "sqlite", "pgsql" or "mariadb"
  connection_settings conn;
  password_format format; ///< of password_sql's rows
  queries q;
  std::string vcard_template;
  bool avatar_hash = true;
  std::chrono::seconds cache_ttl{0};    ///< found rows; 0: no cache
  std::chrono::seconds negative_ttl{0}; ///< "no such row"; 0: no cache
  size_t pool_size = 2;
  /// Rosters of online users are read again this often and changes
  /// pushed to them (RFC 6121 §2.1.6); 0: never.
  std::chrono::seconds roster_refresh{0};

  /// Passwords can be written in the stored form (set / register).
  bool can_store_passwords() const;
};

/// The option schema (keys, aliases, checks).
std::vector<option_spec> options();

/// The hooks served, from which queries are set.
manifest describe(const toml::table& opts);

/// The configuration of the plugin of `ctx` (options already validated).
config configure(const spawn_context& ctx);

} // namespace dja::plugins::sql
