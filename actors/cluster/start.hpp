#pragma once

// Turning [cluster] into a running node: the actor system's TLS and
// heartbeat settings (before the system exists), then the node actor,
// published on the cluster listen address.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "cluster/node.hpp"
#include "cluster/settings.hpp"

namespace dja::cluster {

/// Loads CAF's OpenSSL module with the node's certificate, key and CA
/// (so every node link is mutually authenticated), enables BASP
/// heartbeats and registers the wire messages. Empty, or what is wrong.
std::string configure(const settings& cfg,
                      caf::actor_system_config& sys_cfg);

/// Spawns and publishes the node actor; null (after logging why) when
/// the listen address cannot be used.
std::shared_ptr<const link> start(caf::actor_system& sys,
                                  const settings& cfg,
                                  const std::string& data_dir,
                                  std::shared_ptr<const vhost_table> vhosts);

} // namespace dja::cluster
