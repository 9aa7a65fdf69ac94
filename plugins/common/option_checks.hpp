#pragma once

// Checks of plugin option values shared by the plugin types (the
// `check` of an option_spec, hooks/plugin.hpp): what was expected, or ""
// when the value is acceptable; the config check puts FILE:LINE: KEY
// before it.

#include <cstdint>
#include <functional>
#include <string>

#include <toml++/toml.h>

namespace dja::plugins {

/// An integer from `lo` to `hi`.
inline std::function<std::string(const toml::node&)>
check_range(int64_t lo, int64_t hi) {
  return [lo, hi](const toml::node& v) -> std::string {
    auto n = v.value_or(int64_t{0});
    if (n >= lo && n <= hi)
      return {};
    return "an integer from " + std::to_string(lo) + " to "
           + std::to_string(hi);
  };
}

} // namespace dja::plugins
