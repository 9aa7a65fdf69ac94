#pragma once

// The connection actor: one per client socket (a CAF broker). Bytes in ->
// libxml2 push parser -> stream events -> the RFC 6120 stream state
// machine (header, features, SASL, restart, resource binding). After
// binding, stanzas go to the session actor; stanzas from the session are
// written out. Enforces the stanza size limit, restricted XML and the
// negotiation timeout, and sends stream errors. Knows nothing about
// rosters or plugins beyond asking its vhost.

#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "common/server_context.hpp"

namespace dja::web {
struct settings;
} // namespace dja::web

namespace dja {

struct connection_state;

using connection_broker = caf::io::stateful_broker<connection_state>;

/// The behavior of a forked connection broker.
caf::behavior connection_actor(connection_broker* self,
                               caf::io::connection_handle hdl,
                               context_ptr ctx, listener_options opts);

/// The same for a socket of an `http` listener (docs/web.md): HTTP/1.1
/// requests answered by the route table, and a WebSocket upgrade on the
/// WebSocket path that makes it an RFC 7395 c2s stream.
caf::behavior http_connection_actor(connection_broker* self,
                                    caf::io::connection_handle hdl,
                                    context_ptr ctx, listener_options opts,
                                    std::shared_ptr<const web::settings> web);

} // namespace dja
