#pragma once

// Server-to-server federation (RFC 6120, XEP-0220, XEP-0178), as core
// actors like DJabberd's core does it:
//
//   router ──msg::route (remote domain)──► manager ──► out stream actor
//                                           (one per local/remote pair)
//   listener(kind s2s) ──fork──► in stream actor ──msg::route──► router
//
// The messages between them are declared here; the actors' behaviour in
// s2s_manager.cpp, s2s_out.cpp and s2s_in.cpp. See docs/s2s.md.

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "common/messages.hpp"
#include "common/server_context.hpp"
#include "s2s/settings.hpp"

namespace dja::s2s {

/// out stream -> manager: may I close (idle, closed by the peer, or
/// failed)? With a bool: true when the stream failed after stanzas went
/// out (iqs written on it that get no answer within the handshake timeout
/// are then bounced with remote-server-timeout). Reply: done_atom once
/// the manager no longer routes to it; whatever the out stream received
/// before that reply is its to handle.
using closing_atom = caf::atom_constant<caf::atom("s2sclosing")>;
using done_atom = caf::atom_constant<caf::atom("s2sdone")>;
/// manager -> itself: look for in-flight iqs whose grace has passed.
using iq_timer_atom = caf::atom_constant<caf::atom("s2siqtimer")>;
/// A timer of an s2s stream fired (with its generation number).
using s2s_timer_atom = caf::atom_constant<caf::atom("s2stimer")>;
/// anyone -> manager: the open s2s streams, one line each.
using status_atom = caf::atom_constant<caf::atom("s2sstatus")>;

/// in stream -> manager -> out stream: XEP-0220 §2.3: ask the
/// authoritative server of `remote` (on an outgoing stream from `local`)
/// whether `key` is what it gave the stream `stream_id`. Reply: bool
/// (valid), or an error when the authoritative server cannot be asked.
struct verify_request {
  std::string local;     ///< our domain (the receiving server)
  std::string remote;    ///< the originating server's domain
  std::string stream_id; ///< the id we gave the originating stream
  std::string key;
};

/// out stream -> manager: a stanza it could not send, to be bounced with
/// `condition` (the manager makes sure an iq get/set is answered once).
struct undeliverable {
  xml::element_ptr stanza;
  std::string condition;
};

/// in stream -> manager: an iq result/error from a remote server for a
/// local user; the manager matches it with the request it sent (so that
/// an iq already bounced is not answered twice) and routes it on.
struct iq_answer {
  msg::route r;
};

/// in/out stream -> manager: for status (sent when authenticated).
struct stream_up {
  bool incoming = false;
  std::string local;
  std::string remote;
  std::string method; ///< "EXTERNAL" | "dialback"
  bool tls = false;
};

/// Spawns the s2s manager; `ctx->router` and `ctx->s2s_settings` must
/// be set (ctx->s2s is set to the result by the caller). It keeps
/// DATA_DIR/s2s_status current (s2s/status.hpp).
caf::actor spawn_manager(caf::actor_system& sys, context_ptr ctx,
                         std::string data_dir);

struct in_state;
using in_broker = caf::io::stateful_broker<in_state>;

/// The behavior of a forked incoming s2s stream (listener kind "s2s").
caf::behavior in_stream(in_broker* self, caf::io::connection_handle hdl,
                        context_ptr ctx);

/// Spawns an outgoing stream from `local` to `remote`.
caf::actor spawn_out_stream(caf::actor_system& sys, context_ptr ctx,
                            std::string local, std::string remote,
                            caf::actor manager);

} // namespace dja::s2s

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::s2s::verify_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::s2s::stream_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::s2s::undeliverable)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::s2s::iq_answer)
