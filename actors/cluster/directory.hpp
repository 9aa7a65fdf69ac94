#pragma once

// The cluster's session directory: a replica, on every node, of which
// other node holds each bound full JID, with its availability, priority
// and last presence (so presence probes are answered without a hop).
//
// Written only by the node actor (cluster/node.cpp) from the updates and
// snapshots of its peers; read by the router shards on any thread, hence
// the reader/writer lock. A node's own sessions are not in here: the
// router shards own them.
//
// Merge rules (tested in tests/cluster/directory_test.cpp):
// - an entry is keyed by (bare JID, resource, node); the same full JID may
//   briefly be held by two nodes (a second login racing the first); the
//   one with the higher (stamp, node) wins, see newer();
// - a snapshot (hello) of node N replaces every entry of N;
// - a node that is lost takes all its entries with it.

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/xml.hpp"

namespace dja::cluster {

/// One bound resource held by another node.
struct entry {
  std::string node;
  std::string resource;
  uint64_t stamp = 0;
  bool available = false;
  int priority = 0;
  xml::element_ptr presence; ///< the last available presence, or null
};

/// True when a bind (stamp_a, node_a) replaces (stamp_b, node_b) of the
/// same full JID: the later bind wins, node names break ties, so every
/// node picks the same survivor.
bool newer(uint64_t stamp_a, const std::string& node_a, uint64_t stamp_b,
           const std::string& node_b);

class directory {
public:
  /// A (bare JID, entry) pair.
  using item = std::pair<std::string, entry>;

  /// Adds or replaces the entry of (bare, e.resource, e.node).
  void upsert(const std::string& bare, entry e);

  /// Updates availability and presence of an existing entry; false when
  /// there is none (the update raced an unbind).
  bool set_presence(const std::string& bare, const std::string& resource,
                    const std::string& node, bool available, int priority,
                    xml::element_ptr presence);

  /// Removes one entry; the removed entry, if there was one.
  std::optional<entry> remove(const std::string& bare,
                              const std::string& resource,
                              const std::string& node);

  /// Removes every entry of `node`; returns them.
  std::vector<item> remove_node(const std::string& node);

  /// Replaces every entry of `node` with `snapshot`; returns the entries
  /// that were there before and are not in the snapshot (gone while the
  /// link was down).
  std::vector<item> replace_node(const std::string& node,
                                 std::vector<item> snapshot);

  /// The entries of a user on other nodes (a copy).
  std::vector<entry> find(const std::string& bare) const;

  /// The winning entry for a full JID, if another node holds it.
  std::optional<entry> find_full(const std::string& bare,
                                 const std::string& resource) const;

  /// The highest stamp any node holds for this full JID (0: none).
  uint64_t max_stamp(const std::string& bare,
                     const std::string& resource) const;

  /// Number of entries per node.
  std::map<std::string, size_t> counts() const;

  /// Number of entries in all.
  size_t size() const;

private:
  void erase_if_empty(const std::string& bare);
  void upsert_locked(const std::string& bare, entry e);
  std::vector<item> remove_node_locked(const std::string& node);

  mutable std::shared_mutex mtx_;
  /// bare JID -> entries (all nodes).
  std::unordered_map<std::string, std::vector<entry>> users_;
  /// node -> bare JID -> number of entries (to remove a node quickly).
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>>
    by_node_;
};

} // namespace dja::cluster
