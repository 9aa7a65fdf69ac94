#pragma once

// The session actor: one per bound resource (full JID). It stamps `from`
// on what the client sends, validates stanzas, runs the filter hook,
// hands iqs for the server (or a bare JID) to the vhost and everything
// else to the router; stanzas for this resource come back from the router
// and go to the connection. Presence state (availability, priority) lives
// here and is reported to the router for the RFC 6121 §8.5 rules.

#include <string>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>

#include "common/jid.hpp"
#include "common/server_context.hpp"

namespace dja {

/// Spawns the session of `full`, bound over `connection`. The caller
/// registers it with the router.
caf::actor spawn_session(caf::actor_system& sys, jid full,
                         caf::actor connection, context_ptr ctx,
                         std::string remote_addr);

} // namespace dja
