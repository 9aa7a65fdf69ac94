#pragma once

// The options every mam.* plugin accepts (after its backend's own), read
// into `settings`, and the plugins' manifest.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hooks/plugin.hpp"
#include "plugins/mam/common/answer.hpp"

namespace dja::plugins::mam {

struct settings {
  std::chrono::milliseconds batch{50}; ///< `batch_ms`
  int64_t batch_max = 5000;            ///< `batch_max`
  /// `max_backlog`: messages handed to a detached archive and not yet
  /// written; past it a message is delivered but not archived (counted
  /// and logged).
  int64_t max_backlog = 50000;
  paging pages;                        ///< `default_page`, `max_page`
  int64_t max_age_us = 0;              ///< `max_age`; 0 = kept for ever
  int64_t max_messages = 0;            ///< per user; 0 = no quota
  std::chrono::seconds prune_interval{3600}; ///< `prune_interval_s`
  std::string default_prefs = "always";      ///< `default`
};

/// "365d", "12h", "30m", "45s", "2w" or a number of seconds -> seconds;
/// nullopt when malformed.
std::optional<int64_t> parse_age(const std::string& s);

/// The schema of the archive's own options.
std::vector<option_spec> option_specs();

/// The options of `ctx`, validated by the schema already.
settings settings_of(const spawn_context& ctx, const char* plugin);

/// archive.store, archive.query; urn:xmpp:mam:2 (+ #extended) on the
/// accounts' bare JIDs (XEP-0313 §7).
manifest mam_manifest();

} // namespace dja::plugins::mam
