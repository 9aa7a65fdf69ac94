#pragma once

// XEP-0198 Stream Management, the parts the connection and the session
// share: the 32-bit arithmetic of the 'h' counters (§4: "h" wraps to 0
// after 2^32 - 1) and the node's table of resumable sessions (§5).
//
// A resumption id names the node that minted it (`<node>.<random>`): the
// table is per node, so a client that comes back to another node of a
// cluster gets <item-not-found/> and binds anew (docs/cluster.md).

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

namespace dja::sm {

/// The namespace of XEP-0198 version 3.
constexpr const char* ns = "urn:xmpp:sm:3";

/// An 'h' attribute: a decimal unsigned 32-bit integer (XEP-0198 §4,
/// xs:unsignedInt), nothing else.
std::optional<uint32_t> parse_h(std::string_view s);

/// How many stanzas a peer's `h` acknowledges beyond `acked` (the last
/// `h` it sent), modulo 2^32; nothing when that is more than the
/// `outstanding` stanzas sent since (the handled-count-too-high case).
std::optional<uint32_t> newly_acked(uint32_t acked, uint32_t h,
                                    std::size_t outstanding);

/// The resumable sessions of this node, by resumption id. Shared by
/// the connections (they look an id up at <resume/>) and the sessions
/// (they are added at <enable resume='true'/> and removed when they
/// end); a short critical section, never a wait.
class registry {
public:
  /// `node`: this node's cluster name ("" for a single server).
  explicit registry(std::string node) : node_(std::move(node)) {
  }

  /// A fresh id for `session` (unguessable: 128 random bits).
  std::string add(const caf::actor& session);
  /// The session of `id`, or an invalid handle.
  caf::actor find(const std::string& id) const;
  void remove(const std::string& id);
  /// Every session in the table (a graceful stop ends the detached ones,
  /// so that their queues reach offline storage before the process
  /// exits).
  std::vector<caf::actor> sessions() const;
  /// The node named by `id` (what precedes its last '.').
  static std::string_view node_of(std::string_view id);
  const std::string& node() const {
    return node_;
  }

private:
  std::string node_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, caf::actor> ids_;
};

} // namespace dja::sm
