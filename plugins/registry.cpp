// The one list of built-in plugin types. A plugin type's name is its TOML
// `type`, its folder under plugins/ and its log tag. Test builds add the
// types of plugins/test/ (test_types(): plugins/test/types.cpp there,
// plugins/no_test_types.cpp in the server).

#include "hooks/plugin.hpp"

namespace dja::plugins {

plugin_type access_address_type(); // plugins/access/address
plugin_type auth_sqlite_type();    // plugins/auth/sqlite
plugin_type auth_static_type();    // plugins/auth/static
plugin_type disco_type();          // plugins/disco
plugin_type ping_type();           // plugins/ping
plugin_type register_type();       // plugins/register
plugin_type version_type();        // plugins/version
plugin_type vcard_sqlite_type();   // plugins/vcard/sqlite
plugin_type vcard_memory_type();   // plugins/vcard/memory
plugin_type private_sqlite_type(); // plugins/private/sqlite
plugin_type private_memory_type(); // plugins/private/memory
plugin_type last_type();           // plugins/last
plugin_type roster_memory_type();  // plugins/roster/memory
plugin_type roster_sqlite_type();  // plugins/roster/sqlite
plugin_type offline_sqlite_type(); // plugins/offline/sqlite
plugin_type blocking_memory_type(); // plugins/blocking/memory
plugin_type blocking_sqlite_type(); // plugins/blocking/sqlite
plugin_type offline_memory_type(); // plugins/offline/memory
plugin_type auth_pgsql_type();     // plugins/auth/pgsql
plugin_type roster_pgsql_type();   // plugins/roster/pgsql
plugin_type offline_pgsql_type();  // plugins/offline/pgsql
plugin_type vcard_pgsql_type();    // plugins/vcard/pgsql
plugin_type private_pgsql_type();  // plugins/private/pgsql
plugin_type blocking_pgsql_type(); // plugins/blocking/pgsql
plugin_type external_type();       // plugins/external
plugin_type http_type();           // plugins/http

const std::vector<plugin_type>& builtin_types() {
  static const std::vector<plugin_type> all = [] {
    std::vector<plugin_type> res{
      access_address_type(), auth_sqlite_type(), auth_static_type(),
      disco_type(), ping_type(), register_type(), version_type(),
      vcard_sqlite_type(), private_sqlite_type(), last_type(),
      vcard_memory_type(), private_memory_type(),
      roster_memory_type(), roster_sqlite_type(), offline_sqlite_type(),
      blocking_memory_type(), blocking_sqlite_type(),
      offline_memory_type(),
      auth_pgsql_type(), roster_pgsql_type(), offline_pgsql_type(),
      vcard_pgsql_type(), private_pgsql_type(), blocking_pgsql_type(),
      external_type(),
      http_type(),
    };
    for (auto& t : test_types())
      res.push_back(std::move(t));
    return res;
  }();
  return all;
}

const plugin_type* find_type(std::string_view name) {
  for (auto& t : builtin_types())
    if (t.name == name)
      return &t;
  return nullptr;
}

} // namespace dja::plugins
