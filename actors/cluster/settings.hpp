#pragma once

// The `[cluster]` table of the configuration (parsed with file/line/key
// errors in actors/server/config_cluster.cpp): what a node needs to join
// the cluster (docs/cluster.md).

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dja::cluster {

/// `[cluster]`: this process is one node of a cluster (docs/cluster.md).
struct settings {
  bool enabled = false; ///< a [cluster] table is present
  std::string node;     ///< unique node name
  std::string listen_host; ///< where other nodes connect (TLS)
  uint16_t listen_port = 0;
  /// "host:port" of the other nodes, dialled with backoff.
  std::vector<std::pair<std::string, uint16_t>> peers;
  std::string tls_cert; ///< this node's certificate (PEM), signed by tls_ca
  std::string tls_key;
  std::string tls_ca; ///< the cluster's CA: peers must present a cert by it
  /// A link silent for this long counts as lost (BASP heartbeats every
  /// quarter of it).
  std::chrono::milliseconds link_timeout{4000};
  /// A stanza hop unacknowledged for this long falls back to offline
  /// storage or an error.
  std::chrono::milliseconds forward_timeout{5000};
  std::string where; ///< "file:line" of the table, for later errors
};

} // namespace dja::cluster
