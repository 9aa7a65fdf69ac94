#pragma once

// An integer plugin option with a lower bound (the sizes and counts of
// plugins/private and plugins/pep): a value below it is reported and the
// default used instead.

#include <cstdint>

#include <spdlog/spdlog.h>

#include "hooks/plugin.hpp"

namespace dja::plugins {

/// The integer option `key` of `ctx`; `fallback` when absent, or when
/// below `min` (logged with the plugin's `tag`).
inline int64_t bounded_option(const spawn_context& ctx, const char* tag,
                              const char* key, int64_t fallback,
                              int64_t min) {
  auto n = ctx.options[key].value_or(fallback);
  if (n < min) {
    spdlog::warn("{}: vhost {}: {} = {} is below {}; using {}", tag,
                 ctx.domain, key, n, min, fallback);
    n = fallback;
  }
  return n;
}

} // namespace dja::plugins
