#pragma once

// The one entry point of a plugin library (docs/plugins.md): DJA_PLUGIN
// (actors/hooks/plugin.hpp) defines it when the plugin is built as a
// shared library (djabberd_actors_add_plugin defines DJA_PLUGIN_LIBRARY).
//
//   extern "C" const dja_plugin_entry* djabberd_actors_plugin_v1();
//
// The loader (actors/server/plugin_loader.cpp) reads the build identity
// first and calls nothing else of a library whose identity differs. Then
// it runs the boundary probe: a message of every hook type, built by the
// server, must reach a handler compiled in the library, and the answer
// built there must match the server's answer type. CAF 0.17 matches
// message types by std::type_info, so this is the check that the two
// sides agree on every type they exchange; a library that fails it is
// refused instead of dropping hook requests silently at run time.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/message_handler.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/identity.hpp"

/// The version of the entry point's layout, in its name as well: a new
/// layout gets a new function (djabberd_actors_plugin_v2).
#define DJA_PLUGIN_ENTRY_VERSION 1

extern "C" {

struct dja_plugin_entry {
  uint32_t entry_version;      ///< DJA_PLUGIN_ENTRY_VERSION
  dja_build_identity identity; ///< compared before anything else
  const char* id;              ///< the DJA_PLUGIN id ("hello")
  /// Appends the library's plugin types to the
  /// std::vector<dja::plugins::plugin_type> at `out`. May throw.
  void (*types)(void* out);
  /// Stores the boundary probe (a caf::message_handler) at `out`.
  void (*probe)(void* out);
};

} // extern "C"

namespace dja::sdk {

/// The probe's case for one hook: a `first` or `fold` hook answers its
/// answer_type (handled), a notify hook its name.
template <class Hook>
auto probe_case() {
  if constexpr (Hook::kind == hooks::hook_kind::notify)
    return [](const Hook&) { return std::string{Hook::name}; };
  else
    return [](const Hook&) { return typename Hook::answer_type{}; };
}

template <class... Hooks>
caf::message_handler probe_handler(hooks::list<Hooks...>) {
  return caf::message_handler{probe_case<Hooks>()...};
}

/// The boundary probe: a handler for every hook of the catalogue,
/// compiled in the plugin library.
inline void boundary_probe(void* out) {
  *static_cast<caf::message_handler*>(out) = probe_handler(hooks::all{});
}

} // namespace dja::sdk

/// The entry point of a plugin library whose type is `id##_type()`.
#define DJA_PLUGIN_ENTRY(id)                                                   \
  extern "C" __attribute__((visibility("default"))) const dja_plugin_entry*    \
  djabberd_actors_plugin_v1() {                                                \
    static const dja_plugin_entry entry{                                       \
      DJA_PLUGIN_ENTRY_VERSION, ::dja::sdk::this_build(), #id,                 \
      [](void* out) {                                                          \
        static_cast<std::vector<::dja::plugins::plugin_type>*>(out)            \
          ->push_back(id##_type());                                            \
      },                                                                       \
      &::dja::sdk::boundary_probe};                                            \
    return &entry;                                                             \
  }
