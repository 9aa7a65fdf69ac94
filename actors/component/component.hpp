#pragma once

// XEP-0114 Jabber Component Protocol, the server's side: one actor per
// socket of a `component` listener (a CAF broker on the stream pump,
// actors/stream). The component names its domain in the stream header
// (jabber:component:accept), proves the shared secret with <handshake/>
// (XEP-0114 §3), and is then that domain's only way in and out: the
// domain's `component` plugin (plugins/component), a service domain,
// checks the secret and hands the stream every stanza for the domain as
// msg::deliver_local; what the component sends from its domain is routed
// like any stanza. docs/components.md has the whole picture, including
// clusters.
//
//   stream -> plugin (request, from the stream actor):
//     (connect_atom, stream_id, handshake, remote address)
//     -> std::string: "" accepted (the sender serves the domain now; it
//        takes msg::deliver_local and conflict_atom), else the stream
//        error condition (not-authorized, conflict)

#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "common/jid.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"

namespace dja::component {

/// The namespace of component streams (XEP-0114 §3).
constexpr const char* ns_accept = "jabber:component:accept";

/// stream -> plugin: check this handshake (see the top of this file).
using connect_atom = caf::atom_constant<caf::atom("compconn")>;

struct stream_state;
using broker = caf::io::stateful_broker<stream_state>;

/// The behavior of a forked component broker.
caf::behavior stream(broker* self, caf::io::connection_handle hdl,
                     context_ptr ctx);

/// The component plugin of the vhost `vhost` (its actor): the plugin
/// puts itself here when it starts (and again after a restart), the
/// streams look it up. A process-wide table, keyed by the vhost actor so
/// that several servers in one process (tests) do not meet.
void set_plugin(const caf::actor& vhost, const caf::actor& plugin);

/// The live component plugin of `vhost`, or null: no component serves
/// that domain (XEP-0114 §3: <host-unknown/>).
caf::actor plugin_of(const caf::actor& vhost);

/// The handshake a component sends: the SHA-1 of the stream id followed
/// by the shared secret, in lower-case hex (XEP-0114 §3).
std::string digest(std::string_view stream_id, std::string_view secret);

/// The full JID under which the connected component of `domain` is
/// bound in the cluster's session directory (docs/components.md): the
/// plugins of the other nodes find its node there.
jid directory_jid(const std::string& domain);

/// The <service-unavailable/> answer (RFC 6120 §8.3.3.19) to a stanza
/// `from` -> `to` that no component took (none connected, or it stopped
/// reading), as a route back to its sender; nothing for errors, iq
/// results and presences (RFC 6121 §8.5: presence to nobody is dropped).
std::optional<msg::route> bounce_of(const xml::element_ptr& stanza,
                                    const jid& from, const jid& to);

} // namespace dja::component
