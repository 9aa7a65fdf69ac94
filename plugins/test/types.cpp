// The plugin types only test builds offer (test_types() in
// actors/hooks/plugin.hpp): linked into the unit tests and into
// djabberd-actors-test, the server the scenarios run; never into the
// production djabberd-actors.

#include "hooks/plugin.hpp"

namespace dja::plugins {

plugin_type test_slow_auth_type(); // plugins/test/slow_auth
plugin_type test_presence_type();  // plugins/test/presence

std::vector<plugin_type> test_types() {
  return {test_slow_auth_type(), test_presence_type()};
}

} // namespace dja::plugins
