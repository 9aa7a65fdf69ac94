// The plugin registry of the libFuzzer build (DJA_FUZZ only): no plugin
// types, so the fuzz build does not compile every plugin actor. The config
// harness then reaches every table but answers each [[vhost.plugin]] with
// "unknown type"; the plugin option checks are fuzzed through the replay
// build's real registry only.
#include "server/registry.hpp"

namespace dja::plugins {

const std::vector<plugin_type>& builtin_types() {
  static const std::vector<plugin_type> none;
  return none;
}

const plugin_type* find_type(std::string_view) {
  return nullptr;
}

} // namespace dja::plugins
