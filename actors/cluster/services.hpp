#pragma once

// How a service of one node (a XEP-0114 component, docs/components.md)
// reaches the cluster without a router shard: the node actor is in the
// actor system's registry, and answers where a full JID is bound.
//
//   sys.registry().get<caf::actor>(node_atom::value): the node actor,
//     null without [cluster];
//   (holder_atom, bare, resource) -> std::string: the other node that
//     holds this full JID in the directory, "" when none does;
//   (placement_atom, bare, resource) -> std::vector<std::string>: the
//     other node that holds this full JID ("" when none does), then this
//     node's name, then every other node linked now (the MUC service
//     homes its rooms with it, docs/cluster.md "Group chat");
//   cluster::forward with an empty `node` (messages.hpp): hop to that
//     node, reply false when none holds it;
//   msg::bind / msg::unbind: the node mirrors the binding to the others
//     like a session's (the router shards send these for sessions).

#include <caf/atom.hpp>

namespace dja::cluster {

/// The node actor's key in the actor system's registry (cluster/start.cpp).
using node_atom = caf::atom_constant<caf::atom("clnode")>;

/// local service -> node actor: which other node holds a full JID?
using holder_atom = caf::atom_constant<caf::atom("clholder")>;

/// local service -> node actor: the holder of a full JID and the nodes
/// alive, in one answer (so one request keeps a service's order).
using placement_atom = caf::atom_constant<caf::atom("clplace")>;

} // namespace dja::cluster
