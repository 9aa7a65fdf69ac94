// The server offers no test plugin types (see test_types() in
// server/registry.hpp). Alone in its file, so that the linker takes it
// from the dja_core archive only when nothing defines test_types(): test
// builds link the list generated from plugins/test/ instead.

#include "server/registry.hpp"

namespace dja::plugins {

std::vector<plugin_type> test_types() {
  return {};
}

} // namespace dja::plugins
