#pragma once

// Plugin libraries: shared objects built against the installed SDK
// (docs/plugins.md), loaded while the configuration is checked, so that
// their types are validated like built-in ones. Loaded once per file,
// with dlopen(RTLD_NOW | RTLD_LOCAL), and never unloaded: their actors
// and the code behind their std::functions live as long as the process.

#include <string>
#include <string_view>
#include <vector>

#include "hooks/identity.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

/// Where a plugin library is: `library` as given when it is absolute;
/// else the first of `dirs`/`library` that exists, then `library`
/// relative to `base` (the configuration file's directory; none when
/// ""). "" when none exists.
std::string find_library(const std::string& library,
                         const std::vector<std::string>& dirs,
                         const std::string& base);

/// Loads the plugin library at `path` (once per file) and adds its types
/// to those find_type() knows. "" on success, else what is wrong, naming
/// the file: it does not load (dlerror), it has no entry point, its build
/// identity differs (each differing field with both values), its init
/// fails or throws, a type it declares is malformed or already known, or
/// a hook message does not cross the boundary (entry.hpp).
std::string load_library(const std::string& path);

/// The names of the types the library at `path` declared (after a
/// successful load_library), for "it declares ..." messages.
std::vector<std::string> library_types(const std::string& path);

/// A type of a loaded library, or nullptr.
const plugin_type* loaded_type(std::string_view name);

/// "" when `plugin` equals `server`, else "FIELD: library \"X\", server
/// \"Y\"" for every field that differs, joined by "; ".
std::string identity_diff(const dja_build_identity& plugin,
                          const dja_build_identity& server);

/// Runs the boundary probe (entry.hpp): "" when every hook message
/// crosses, else the hooks that do not.
std::string probe_boundary(void (*probe)(void*));

} // namespace dja::plugins
