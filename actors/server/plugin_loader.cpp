// Loading plugin libraries (server/plugin_loader.hpp): dlopen, the build
// identity check, the plugin's init and the type_info boundary probe, in
// that order; the first that fails refuses the library and the start.

#include "server/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstring>
#include <exception>
#include <filesystem>
#include <list>
#include <map>
#include <memory>

#include <caf/message.hpp>

#include "hooks/entry.hpp"
#include "server/registry.hpp"

namespace dja::plugins {

namespace {

struct library {
  std::string error; ///< "" when loaded
  std::vector<std::string> types;
};

/// Canonical path -> what loading it gave. Never unloaded.
std::map<std::string, library>& libraries() {
  static std::map<std::string, library> res;
  return res;
}

/// The loaded types; a list, so that pointers to them stay valid.
std::list<plugin_type>& types() {
  static std::list<plugin_type> res;
  return res;
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto res = std::filesystem::canonical(path, ec);
  return ec ? path : res.string();
}

/// Why `t` cannot be registered, or "".
std::string type_error(const plugin_type& t) {
  if (t.name.empty())
    return "declares a type without a name";
  if (!t.describe || !t.spawn)
    return "declares type " + t.name + " without describe or spawn";
  for (auto& b : builtin_types())
    if (b.name == t.name)
      return "declares type " + t.name + ", a built-in type";
  if (loaded_type(t.name) != nullptr)
    return "declares type " + t.name + ", which another library declared";
  return "";
}

std::string load(const std::string& path, library& lib) {
  auto handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    auto err = dlerror();
    return "cannot be loaded (" + std::string{err ? err : "dlopen failed"}
           + ")";
  }
  // Never dlclose: a refused library refuses the start anyway, and
  // unloading would run its static destructors for nothing.
  using entry_fn = const dja_plugin_entry* (*) ();
  auto sym = dlsym(handle, "djabberd_actors_plugin_v1");
  if (sym == nullptr)
    return "has no entry point djabberd_actors_plugin_v1 (not a "
           "djabberd-actors plugin, or one built for another entry version)";
  auto entry = reinterpret_cast<entry_fn>(sym)();
  if (entry == nullptr || entry->entry_version != DJA_PLUGIN_ENTRY_VERSION)
    return "has an entry point of another layout (entry_version "
           + std::to_string(entry ? entry->entry_version : 0) + ", server "
           + std::to_string(DJA_PLUGIN_ENTRY_VERSION) + ")";
  auto diff = identity_diff(entry->identity, sdk::this_build());
  if (!diff.empty())
    return "was built for another server (" + diff
           + "): rebuild it against this server's SDK";
  std::vector<plugin_type> declared;
  try {
    entry->types(&declared);
  } catch (const std::exception& ex) {
    return std::string{"failed in its init: "} + ex.what();
  } catch (...) {
    return "failed in its init (an exception that is no std::exception)";
  }
  if (declared.empty())
    return "failed in its init: it declares no plugin type";
  if (auto err = probe_boundary(entry->probe); !err.empty())
    return "does not exchange hook messages with this server (" + err
           + "; docs/plugins.md, \"ABI rules\")";
  for (auto& t : declared)
    if (auto err = type_error(t); !err.empty())
      return err;
  for (auto& t : declared) {
    lib.types.push_back(t.name);
    types().push_back(std::move(t));
  }
  return "";
}

} // namespace

std::string find_library(const std::string& library,
                         const std::vector<std::string>& dirs,
                         const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p{library};
  if (p.is_absolute())
    return fs::exists(p, ec) ? library : "";
  for (auto& d : dirs)
    if (auto q = fs::path{d} / p; fs::exists(q, ec))
      return q.string();
  if (!base.empty())
    if (auto q = fs::path{base} / p; fs::exists(q, ec))
      return q.string();
  return "";
}

std::string load_library(const std::string& path) {
  auto key = canonical(path);
  auto& libs = libraries();
  if (auto i = libs.find(key); i != libs.end())
    return i->second.error;
  auto& lib = libs[key];
  auto err = load(key, lib);
  if (!err.empty())
    lib.error = key + " " + err;
  return lib.error;
}

std::vector<std::string> library_types(const std::string& path) {
  auto& libs = libraries();
  auto i = libs.find(canonical(path));
  return i != libs.end() ? i->second.types : std::vector<std::string>{};
}

const plugin_type* loaded_type(std::string_view name) {
  for (auto& t : types())
    if (t.name == name)
      return &t;
  return nullptr;
}

std::string identity_diff(const dja_build_identity& plugin,
                          const dja_build_identity& server) {
  std::string res;
  auto field = [&](const char* name, const char* x, const char* y) {
    auto sx = std::string{x ? x : ""};
    auto sy = std::string{y ? y : ""};
    if (sx == sy)
      return;
    if (!res.empty())
      res += "; ";
    res += std::string{name} + ": library \"" + sx + "\", server \"" + sy
           + "\"";
  };
  field("sdk_version", plugin.sdk_version, server.sdk_version);
  field("headers_hash", plugin.headers_hash, server.headers_hash);
  field("caf_version", plugin.caf_version, server.caf_version);
  field("toml_version", plugin.toml_version, server.toml_version);
  field("compiler", plugin.compiler, server.compiler);
  field("cxx_abi", plugin.cxx_abi, server.cxx_abi);
  return res;
}

namespace {

/// Does a message of `Hook`, built here, reach the library's handler, and
/// does its answer, built there, match the answer type known here?
template <class Hook>
bool probe_one(caf::message_handler& handler) {
  auto msg = caf::make_message(Hook{});
  auto res = handler(msg);
  if (!res)
    return false;
  if constexpr (Hook::kind == hooks::hook_kind::notify)
    return res->template match_elements<std::string>()
           && res->template get_as<std::string>(0) == Hook::name;
  else
    return res->template match_elements<typename Hook::answer_type>();
}

template <class... Hooks>
std::string probe_all(caf::message_handler& handler, hooks::list<Hooks...>) {
  std::string failed;
  auto check = [&](bool ok, const char* name) {
    if (!ok)
      failed += (failed.empty() ? "" : ", ") + std::string{name};
  };
  (check(probe_one<Hooks>(handler), Hooks::name), ...);
  return failed;
}

} // namespace

std::string probe_boundary(void (*probe)(void*)) {
  if (probe == nullptr)
    return "no boundary probe";
  caf::message_handler handler;
  try {
    probe(&handler);
    auto failed = probe_all(handler, hooks::all{});
    return failed.empty() ? "" : "these hook messages do not cross: " + failed;
  } catch (const std::exception& ex) {
    return std::string{"the boundary probe threw: "} + ex.what();
  }
}

} // namespace dja::plugins
