#pragma once

// Where a stanza goes to be routed: the router's shards (actors/router).
// A bare JID always maps to the same shard, so one user's sessions live
// in one place.

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "common/jid.hpp"

namespace dja {

/// The router: a fixed set of shards; a bare JID always maps to the same
/// shard, so one user's sessions live in one place.
struct router_ref {
  std::vector<caf::actor> shards;

  const caf::actor& shard_for(const jid& to) const {
    auto key = to.local() + '@' + to.domain();
    return shards[std::hash<std::string>{}(key) % shards.size()];
  }
};

} // namespace dja
