// The plugin types a server knows (server/registry.hpp). No list here:
// the built-in ones come from the generated compiled_types(), the others
// from the libraries loaded at start.

#include "server/registry.hpp"

#include "server/plugin_loader.hpp"

namespace dja::plugins {

const std::vector<plugin_type>& builtin_types() {
  static const std::vector<plugin_type> all = [] {
    auto res = compiled_types();
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
  return loaded_type(name);
}

} // namespace dja::plugins
