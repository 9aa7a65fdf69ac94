// The one list of built-in plugin types. A plugin type's name is its TOML
// `type`, its folder under plugins/ and its log tag.

#include "plugins/plugin.hpp"

namespace dja::plugins {

plugin_type access_address_type(); // plugins/access/address
plugin_type auth_sqlite_type();    // plugins/auth/sqlite
plugin_type auth_static_type();    // plugins/auth/static
plugin_type disco_type();          // plugins/disco
plugin_type ping_type();           // plugins/ping
plugin_type register_type();       // plugins/register
plugin_type version_type();        // plugins/version
plugin_type vcard_sqlite_type();   // plugins/vcard/sqlite
plugin_type private_sqlite_type(); // plugins/private/sqlite
plugin_type last_type();           // plugins/last
plugin_type roster_memory_type();  // plugins/roster/memory
plugin_type roster_sqlite_type();  // plugins/roster/sqlite
plugin_type offline_sqlite_type(); // plugins/offline/sqlite
plugin_type offline_memory_type(); // plugins/offline/memory
plugin_type test_slow_auth_type(); // plugins/test/slow_auth (tests only)

const std::vector<plugin_type>& builtin_types() {
  static const std::vector<plugin_type> all{
    access_address_type(), auth_sqlite_type(), auth_static_type(), disco_type(),
    ping_type(), register_type(), version_type(),
    vcard_sqlite_type(), private_sqlite_type(), last_type(),
    roster_memory_type(), roster_sqlite_type(), offline_sqlite_type(),
    offline_memory_type(),
    test_slow_auth_type(),
  };
  return all;
}

const plugin_type* find_type(std::string_view name) {
  for (auto& t : builtin_types())
    if (t.name == name)
      return &t;
  return nullptr;
}

} // namespace dja::plugins
