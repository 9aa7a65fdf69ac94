#pragma once

// One scrape: what the probes of the hot actors answered, and the whole
// exposition written from it and from the counters (docs/metrics.md has
// every family).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"

namespace dja::metrics {

/// What the hot actors answered to probe_atom (metrics.hpp).
struct probes {
  struct actor {
    std::string kind; ///< "router_shard", "vhost", "s2s_manager", "cluster_node"
    std::string id;   ///< shard number, domain, "0"
    bool up = false;  ///< answered within probe_timeout
    size_t mailbox = 0;
  };
  std::vector<actor> actors;
  /// Sum over the shards that answered.
  size_t users = 0;
  size_t sessions = 0;
  /// Authenticated s2s streams in / out (federation on).
  std::optional<std::pair<size_t, size_t>> s2s_streams;
  /// Peers linked (clustered).
  std::optional<size_t> cluster_links;
};

/// Writes every family: build info, connections, sessions, stanzas,
/// routing, hooks and plugins, actors, s2s, cluster, then process_*.
void write_all(exposition& out, const probes& p);

} // namespace dja::metrics
