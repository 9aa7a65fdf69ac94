#pragma once

// The plugin types a server knows: the built-in ones (a list generated
// from the plugin folders, cmake/plugin_registry.cmake), the test ones of
// test builds, and those of the shared libraries loaded at start
// (server/plugin_loader.hpp). Server side only: a plugin needs none of it.

#include <string_view>
#include <vector>

#include "hooks/plugin.hpp"

namespace dja::plugins {

/// The plugin types compiled in, sorted by folder (generated).
std::vector<plugin_type> compiled_types();

/// The plugin types only test builds have (`test.*`, plugins/test/): the
/// unit tests and djabberd-actors-test, which the scenarios run, link a
/// generated list of plugins/test/; the server gets the empty list of
/// plugins/no_test_types.cpp.
std::vector<plugin_type> test_types();

/// Every built-in type: compiled_types() and test_types().
const std::vector<plugin_type>& builtin_types();

/// The type with this name, built in or from a loaded library, or nullptr.
const plugin_type* find_type(std::string_view name);

} // namespace dja::plugins
