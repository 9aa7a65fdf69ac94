#pragma once

// The listener actor: accepts sockets on one configured address and port
// and forks one connection actor per socket. It keeps track of its
// connections so that a shutdown reaches every open stream, and counts
// them per remote address and in total (connection_limits.hpp): over
// [limits] max_connections_per_address or max_connections a socket is
// refused with a stream error before any actor is spawned for it.
//
//   (open_atom, address, port) -> uint16_t actual port, or an error
//   shutdown_atom               -> size_t connections told to close
//   count_atom                  -> size_t open connections

#include <memory>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "common/server_context.hpp"

namespace dja::web {
struct settings;
} // namespace dja::web

namespace dja {

using open_atom = caf::atom_constant<caf::atom("open")>;

/// Spawns a c2s listener (not yet bound: send it open_atom).
caf::actor spawn_c2s_listener(caf::actor_system& sys, context_ptr ctx,
                              listener_options opts);

/// Spawns an `http` listener (docs/web.md): HTTP/1.1 with the route
/// table of `web`, WebSocket XMPP (RFC 7395) on its WebSocket path.
caf::actor spawn_http_listener(caf::actor_system& sys, context_ptr ctx,
                               listener_options opts,
                               std::shared_ptr<const web::settings> web);

/// Spawns a listener of XEP-0114 component streams (actors/component).
caf::actor spawn_component_listener(caf::actor_system& sys, context_ptr ctx);

} // namespace dja
