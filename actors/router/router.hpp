#pragma once

// The router: maps JIDs to sessions and applies the RFC 6121 §8 delivery
// rules. Sharded by bare JID (see router_ref in common/server_context.hpp);
// each shard is one actor owning the sessions of its users.
//
// Stages for a stanza to a local user: local session(s) -> the vhost's
// `deliver` hook (offline storage, later cluster/s2s) -> the RFC default
// (an error back to the sender, or silence for errors and headlines).

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "common/limits.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"

namespace dja {

namespace cluster {
struct link;
} // namespace cluster

/// The domains whose vhost has a blocking plugin (XEP-0191): only for
/// them does a shard ask `blocking.check` before it lets an inbound
/// subscription or probe through.
using domain_set = std::unordered_set<std::string>;

/// server -> each shard: stanzas for domains not served here go to this
/// actor (the s2s manager, actors/s2s) instead of bouncing with
/// <remote-server-not-found/>.
using s2s_route_atom = caf::atom_constant<caf::atom("s2sroute")>;

/// Spawns `count` shards and returns them as a router. With `cluster`,
/// users not bound here are looked up in the cluster's directory and
/// reached through the node actor (cluster/node.hpp). `bounds`: the
/// server's [limits] (resources per account, pending subscription
/// requests per user).
std::vector<caf::actor>
spawn_router(caf::actor_system& sys, size_t count,
             std::shared_ptr<const vhost_table> vhosts,
             std::shared_ptr<const domain_set> blocking = nullptr,
             std::shared_ptr<const cluster::link> cluster = nullptr,
             const dja::limits& bounds = {});

} // namespace dja
