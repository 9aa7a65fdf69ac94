#pragma once

// The node actor: one per server process when [cluster] is configured.
// It is this node's face to the other nodes (published on the cluster
// listen address over TLS), keeps the session directory up to date, and
// carries stanzas between the router shards of different nodes with an
// acknowledgement. See docs/cluster.md for the design.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster/directory.hpp"
#include "common/server_context.hpp"

namespace dja::cluster {

/// A peer address to dial.
struct peer_address {
  std::string host;
  uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

struct node_options {
  std::string name;
  peer_address listen; ///< our own cluster address (told in the hello)
  std::vector<peer_address> peers;
  /// How long a stanza hop may take before it counts as failed (and the
  /// stanza falls back to offline storage or an error).
  std::chrono::milliseconds forward_timeout{5000};
  /// Where the node writes its view of the cluster every second (read by
  /// `djabberd-actors cluster status`); empty: nowhere.
  std::string status_file;
  /// Longest wait between two attempts to reach a peer.
  std::chrono::milliseconds max_backoff{5000};
};

/// What a router shard holds of the cluster (null without a cluster).
struct link {
  std::shared_ptr<const directory> dir;
  caf::actor node; ///< takes msg::bind/unbind/presence_state and forward
};
using link_ptr = std::shared_ptr<const link>;

/// Spawns the node actor. It needs the router shards (a
/// std::vector<caf::actor> message) before it takes stanzas from peers.
caf::actor spawn_node(caf::actor_system& sys, node_options opts,
                      std::shared_ptr<directory> dir,
                      std::shared_ptr<const vhost_table> vhosts);

/// The text `cluster status` prints for a report.
std::string format_status(const struct status_report& r);

/// Checks that the TLS files load and belong together (CAF would only
/// find out on the first connection, by throwing in its I/O thread).
/// Empty when fine, else what is wrong.
std::string check_tls_files(const std::string& cert, const std::string& key,
                            const std::string& ca);

} // namespace dja::cluster
