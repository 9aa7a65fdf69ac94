#pragma once

// The build identity of a plugin library and of the server that loads it
// (docs/plugins.md, "ABI rules"). A plugin library exchanges C++ objects
// with the server (std::string, std::function, toml::table, CAF messages),
// so both must be compiled from the same SDK headers, against the same
// CAF and toml++ headers, by the same compiler with the same libstdc++
// ABI. Each side computes its identity from the macros its own compiler
// sees: the server from its sources, the plugin from the installed SDK
// (DJA_PLUGIN puts the plugin's in its entry point). The loader compares
// them field by field before it calls anything else of the library.

#include <caf/config.hpp>
#include <toml++/toml.h>

#include "hooks/sdk_version.hpp" // generated: version, headers hash

#define DJA_IDENTITY_STR2(x) #x
#define DJA_IDENTITY_STR(x) DJA_IDENTITY_STR2(x)

extern "C" {

/// Plain C strings, so that they can be read before anything C++ of the
/// library is trusted.
struct dja_build_identity {
  const char* sdk_version;  ///< DJA_SDK_VERSION ("0.1.0")
  const char* headers_hash; ///< SHA-256 of the SDK headers, at build time
  const char* caf_version;  ///< CAF_VERSION ("1706" = 0.17.6)
  const char* toml_version; ///< toml++ ("3.3.0")
  const char* compiler;     ///< "gcc 12.2.0", "clang 14.0.6"
  /// "cxx11_abi=1 glibcxx=20220819": _GLIBCXX_USE_CXX11_ABI (the layout
  /// of std::string) and __GLIBCXX__ (the libstdc++ release).
  const char* cxx_abi;
};

} // extern "C"

namespace dja::sdk {

/// The identity of the code that includes this header, as its compiler
/// sees it.
inline dja_build_identity this_build() {
  return {
    DJA_SDK_VERSION,
    DJA_SDK_HEADERS_HASH,
    DJA_IDENTITY_STR(CAF_VERSION),
    DJA_IDENTITY_STR(TOML_LIB_MAJOR) "." DJA_IDENTITY_STR(
      TOML_LIB_MINOR) "." DJA_IDENTITY_STR(TOML_LIB_PATCH),
#if defined(__clang__)
    "clang " __clang_version__,
#elif defined(__GNUC__)
    "gcc " __VERSION__,
#else
    "unknown compiler",
#endif
#if defined(__GLIBCXX__)
    "cxx11_abi=" DJA_IDENTITY_STR(_GLIBCXX_USE_CXX11_ABI)
    " glibcxx=" DJA_IDENTITY_STR(__GLIBCXX__),
#else
    "not libstdc++",
#endif
  };
}

} // namespace dja::sdk
