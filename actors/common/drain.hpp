// The graceful stop's drain message (actors/server/server.cpp): SIGTERM
// waits until every accepted stanza went through the router and the
// vhosts' chains before the plugins stop.
#pragma once

#include <caf/atom.hpp>

namespace dja {

/// Graceful stop: a router shard answers once every message queued
/// before it is handled (a barrier); a vhost answers its requests in
/// flight to plugins and how many it has started so far.
using drain_atom = caf::atom_constant<caf::atom("drain")>;

} // namespace dja
