#pragma once

// The state of the node actor, split by concern: node.cpp (sessions of
// this node, the behavior), node_links.cpp (dialing peers, hello, node
// loss, status) and node_delivery.cpp (stanzas between nodes).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "cluster/directory.hpp"
#include "cluster/messages.hpp"
#include "cluster/node.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"

namespace dja::cluster {

/// A session bound on this node, as the node actor tracks it.
struct local_entry {
  std::string resource;
  caf::actor session;
  uint64_t stamp = 0;
  bool available = false;
  int priority = 0;
  xml::element_ptr presence;
};

/// Another node we have a link to (after its hello).
struct peer {
  caf::actor actor;
  uint64_t incarnation = 0;
  std::string address; ///< its cluster listen address
};

/// A configured peer address and how dialing it goes.
struct dial {
  peer_address addr;
  enum { idle, connecting, up, waiting } state = idle;
  std::chrono::milliseconds backoff{0};
  std::string name; ///< the node there, once known
  std::string last_error;
};

struct counters {
  uint64_t forwarded = 0;
  uint64_t forward_failed = 0;
  uint64_t failed_at_loss = 0; ///< of those: in flight when the node was lost
  uint64_t received = 0;
  uint64_t receive_missed = 0;
  uint64_t nodes_lost = 0;
  uint64_t sessions_purged = 0;
  uint64_t conflicts = 0;
};

struct node_state {
  static inline const char* name = "cluster-node";

  caf::stateful_actor<node_state>* self = nullptr;
  node_options opts;
  uint64_t incarnation = 0;
  std::shared_ptr<directory> dir;
  std::shared_ptr<const vhost_table> vhosts;
  router_ref router;
  caf::io::middleman_actor mm; ///< the TLS middleman (connect requests)
  /// bare JID -> this node's sessions of that user.
  std::unordered_map<std::string, std::vector<local_entry>> local;
  std::map<std::string, peer> peers; ///< by node name
  std::vector<dial> dials;
  caf::actor status_writer;
  counters stats;
  /// Hops sent and not yet answered, by node, then by hop number: the
  /// loss of a node fails its hops at once (the sender re-routes or
  /// stores offline) instead of at forward_timeout.
  std::map<std::string, std::unordered_map<uint64_t,
                                           caf::typed_response_promise<bool>>>
    in_flight;
  uint64_t next_hop = 0;
  /// Names of nodes lost and not back: shown by `cluster status`.
  std::map<std::string, std::string> lost_nodes; ///< name -> when

  // --- node.cpp: this node's sessions ---
  local_entry* find_local(const jid& full);
  void on_bind(const msg::bind& b);
  void on_unbind(const msg::unbind& u);
  void on_presence(const msg::presence_state& p);
  wire_entry to_wire(const std::string& bare, const local_entry& e) const;
  void broadcast(update::op_t op, const std::string& bare,
                 const local_entry& e);
  /// Another node bound `full` with `stamp`: if that bind is newer than
  /// ours, our session gets <conflict/> (RFC 6120 §7.7.2.2).
  void resolve_conflict(const std::string& bare, const std::string& resource,
                        uint64_t stamp, const std::string& node);
  std::vector<wire_entry> snapshot() const;

  // --- node_links.cpp ---
  void start();
  void dial_peer(size_t i);
  void dial_failed(size_t i, const std::string& why);
  /// Of two nodes, the one with the lower address dials first.
  bool dials_first(const dial& d) const;
  hello make_hello() const;
  /// A peer introduced itself (its hello or the reply to ours); false
  /// when it cannot join (same name as ours).
  bool on_hello(hello& h);
  void on_update(update& u);
  void on_down(const caf::down_msg& m);
  /// Sessions of another node are gone: their contacts on this node get
  /// unavailable presence on their behalf (RFC 6121 §4.5.2).
  void sessions_lost(const std::vector<directory::item>& items);
  node_status own_status() const;
  caf::typed_response_promise<status_report> status();

  // --- node_delivery.cpp ---
  caf::typed_response_promise<bool> forward_out(forward& f);
  /// The answer to hop `id` to `node`, unless node loss answered it.
  void hop_answered(const std::string& node, uint64_t id, bool taken);
  /// `node` is lost: every hop in flight to it fails now.
  void fail_in_flight(const std::string& node);
  bool deliver_in(const remote_stanza& s);
  /// A presence from another node reached the local user `to`:
  /// `presence.received` to its vhost, when served (PEP's caps).
  void presence_received(const jid& to, const xml::element_ptr& stanza);
};

} // namespace dja::cluster
