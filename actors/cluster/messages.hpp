#pragma once

// The messages of the cluster layer.
//
// Wire messages travel between nodes over CAF's BASP (TLS, see
// cluster/node.cpp): plain strings and integers only, with an inspect()
// overload, registered on every node by add_message_types(). A stanza
// crosses as serialized XML and is parsed again on the receiving node.
// The local core messages (common/messages.hpp) hold shared pointers and
// never leave a node.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace dja::cluster {

/// CLI -> node: the cluster as this node sees it. Reply: status_report.
using status_atom = caf::atom_constant<caf::atom("clstatus")>;
/// node -> node: your own counters. Reply: node_status.
using stats_atom = caf::atom_constant<caf::atom("clstats")>;
/// node -> itself: try to connect to peer #i again.
using retry_atom = caf::atom_constant<caf::atom("clretry")>;

/// How a forwarded stanza is delivered on the node that holds the user.
enum class deliver_mode : uint8_t {
  full = 0,             ///< to the one session bound to `to` (a full JID)
  available = 1,        ///< to every available resource of bare `to`
  available_nonneg = 2, ///< ... with non-negative priority (RFC 6121 §3.1.3)
  push = 3,             ///< a roster push to every resource of bare `to`
  carbon = 4,           ///< an XEP-0280 copy to the session of full `to`
};

/// One bound resource as it crosses the wire.
struct wire_entry {
  std::string bare;
  std::string resource;
  uint64_t stamp = 0; ///< bind order across the cluster: higher wins
  bool available = false;
  int32_t priority = 0;
  std::string presence; ///< the last available presence (XML), or ""
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_entry& x) {
  return f(caf::meta::type_name("dja.wire_entry"), x.bare, x.resource,
           x.stamp, x.available, x.priority, x.presence);
}

/// node -> node, both ways after a link comes up: who I am, and every
/// session I hold (replaces whatever the receiver knew of my sessions).
/// Reply: the receiver's own hello.
struct hello {
  std::string node;
  uint64_t incarnation = 0; ///< differs after a restart
  caf::actor actor;         ///< the sender's node actor
  std::string address;      ///< its cluster listen address, "host:port"
  std::vector<wire_entry> sessions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("dja.hello"), x.node, x.incarnation, x.actor,
           x.address, x.sessions);
}

/// node -> every peer: one of my sessions changed.
struct update {
  enum op_t : uint8_t { bound = 0, presence = 1, unbound = 2 };
  std::string node;
  uint8_t op = bound;
  wire_entry entry;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update& x) {
  return f(caf::meta::type_name("dja.update"), x.node, x.op, x.entry);
}

/// node -> node: deliver this stanza to a user you hold. Reply: bool
/// (true: handed to at least one session; false: nobody here, the
/// sender falls back to offline storage or an error).
struct remote_stanza {
  uint8_t mode = 0; ///< a deliver_mode
  std::string to;
  std::string xml;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_stanza& x) {
  return f(caf::meta::type_name("dja.remote_stanza"), x.mode, x.to, x.xml);
}

/// One node's state and counters, as one node sees it.
struct node_status {
  std::string node;
  std::string state; ///< self | up | connecting | down
  std::string address; ///< the peer address dialled, if any
  uint64_t sessions = 0;
  // Counters of that node itself (filled when it answered).
  bool has_counters = false;
  uint64_t forwarded = 0; ///< stanzas sent to other nodes
  uint64_t forward_failed = 0; ///< ... not acknowledged: fell back
  uint64_t received = 0; ///< stanzas received from other nodes
  uint64_t receive_missed = 0; ///< ... for nobody here (nack)
  uint64_t nodes_lost = 0; ///< node-down events seen
  uint64_t sessions_purged = 0; ///< remote sessions removed by node loss
  uint64_t conflicts = 0; ///< local sessions replaced by a remote bind
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("dja.node_status"), x.node, x.state,
           x.address, x.sessions, x.has_counters, x.forwarded,
           x.forward_failed, x.received, x.receive_missed, x.nodes_lost,
           x.sessions_purged, x.conflicts);
}

struct status_report {
  std::string self;
  std::vector<node_status> nodes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_report& x) {
  return f(caf::meta::type_name("dja.status_report"), x.self, x.nodes);
}

/// router shard -> local node actor: send `stanza` to `to` on `node`.
/// Reply: bool, as for remote_stanza (false also for a failed or timed
/// out hop).
struct forward {
  std::string node;
  deliver_mode mode = deliver_mode::full;
  xml::element_ptr stanza;
  jid to;
};

/// Registers the wire messages; every node (and the status CLI) calls it
/// on its actor_system_config before the system starts.
void add_message_types(caf::actor_system_config& cfg);

} // namespace dja::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::cluster::forward)
