#pragma once

// The messages the core actors exchange (connection, session, router,
// vhost, listener). Hook requests to plugins are in hooks/catalogue.hpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace dja {

/// The server is stopping: connections send <system-shutdown/>.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// A session was replaced by a newer bind of the same full JID.
using conflict_atom = caf::atom_constant<caf::atom("conflict")>;
/// A connection's idle/negotiation timer fired.
using idle_atom = caf::atom_constant<caf::atom("idle")>;
/// The connection of a session is gone: the session cleans up and quits.
using closed_atom = caf::atom_constant<caf::atom("closed")>;
/// A connection checks whether it has been idle long enough to hibernate.
using hibernate_atom = caf::atom_constant<caf::atom("hibernate")>;
/// connection -> session: the client stopped reading and its socket was
/// reset (limits.write_buffer); stanzas sent to the connection come back
/// as msg::undelivered until the session is gone.
using overflow_atom = caf::atom_constant<caf::atom("overflow")>;
/// session -> connection (request): answered once every stanza sent
/// before it was written or handed back. Also, at a graceful stop
/// (server.cpp), server -> router shard / vhost (request): a barrier
/// through the shard, and the vhost's count of plugin requests in flight.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// session -> itself: a detached session's resume_timeout (XEP-0198 §5)
/// is over, if the number is still its detachment's.
using sm_timeout_atom = caf::atom_constant<caf::atom("smtimeout")>;
/// connection -> itself: time to ask the client for an ack (<r/>).
using sm_request_atom = caf::atom_constant<caf::atom("smrequest")>;
/// A listener reports how many connections it holds; a router shard how
/// many users and sessions are bound there (`ctl status`).
using count_atom = caf::atom_constant<caf::atom("count")>;

namespace msg {

/// connection -> session: a stanza the client sent (after binding).
struct from_client {
  xml::element_ptr stanza;
};

/// session -> connection: write this stanza to the client.
struct to_client {
  xml::element_ptr stanza;
};

/// connection -> session: a stanza the connection could not write (its
/// client stopped reading); the session routes it again.
struct undelivered {
  xml::element_ptr stanza;
};

/// session -> connection: end with this stream error ("": none, XEP-0198).
struct close_stream {
  std::string condition;
  std::string text;
};

/// connection -> router shard: bind `full` to `session`. Reply: bool (true:
/// an older session of `full` was replaced, it gets a conflict_atom), or
/// msg::bind_refused() (router/bind_error.hpp) past limits.max_resources.
struct bind {
  jid full;
  caf::actor session;
};

/// session -> router shard: `full` is gone (ignored if the entry already
/// points to a newer session).
struct unbind {
  jid full;
  caf::actor session;
};

/// session -> router shard: presence availability and priority of a
/// bound resource (RFC 6121 §8.5 delivery rules use them).
struct presence_state {
  jid full;
  caf::actor session;
  bool available = false;
  int priority = 0;
  xml::element_ptr presence; ///< the last available presence, if any
};

/// anyone -> router shard: deliver `stanza` (from already stamped) to `to`.
struct route {
  xml::element_ptr stanza;
  jid from;
  jid to;
};

/// router shard -> session: a stanza addressed to this session.
struct deliver_local {
  xml::element_ptr stanza;
};

/// session -> router shard: hand `stanza` to every bound resource of
/// `user` as a roster push (RFC 6121 §2.1.6).
struct push_to_user {
  jid user;
  xml::element_ptr stanza;
};

/// session -> router shard: the user sent a subscription stanza
/// (subscribe, subscribed, unsubscribe, unsubscribed) to `contact`; the
/// shard updates the user's roster (RFC 6121 §3) in order with the
/// inbound ones and forwards it.
struct outbound_subscription {
  jid user;
  jid contact;
  xml::element_ptr stanza; ///< from = user's bare JID, to = contact
};

/// session -> router shard: send unavailable presence from every
/// available resource of `user` to `contact` (RFC 6121 §3.2.2).
struct unavailable_to {
  jid user;
  jid contact;
};

/// router shard -> session: a roster push; sent on only to resources
/// that asked for the roster, addressed to their full JID.
struct roster_push {
  xml::element_ptr stanza;
};

/// session -> router shard -> every session of `user` (XEP-0191 §3.3-
/// §3.5): a block or unblock push. Every session updates the block list
/// it enforces; only those that asked for the list send it on to their
/// client (addressed to their full JID).
struct blocklist_push {
  jid user;
  xml::element_ptr stanza; ///< <iq type='set'><block/>|<unblock/></iq>
};

/// session -> router shard: send the current presence of every available
/// resource of `user` to `contact` (XEP-0191 §3.4: on unblock).
struct presence_to {
  jid user;
  jid contact;
};

/// connection -> session (XEP-0198 §3): the client enabled stream
/// management with resumption; `id` names it in the node's table
/// (common/stream_management.hpp) and the session may wait `timeout`
/// for a <resume/> once its connection is lost.
struct sm_enabled {
  std::string id;
  std::chrono::seconds timeout;
};

/// connection -> session: a stream with stream management ended. The
/// counters of XEP-0198 §4 and the stanzas sent that the client has not
/// acknowledged, oldest first (a null one was counted but is not worth
/// resending: our XEP-0199 ping). `lost`: the connection died without
/// </stream:stream> or a stream error of ours, so the session may wait
/// for a resumption; else it ends and routes them again. The connection
/// hands back what still reaches it (msg::undelivered) until the
/// session sends it closed_atom or ends.
struct sm_parked {
  uint32_t handled = 0; ///< stanzas received from the client
  uint32_t acked = 0;   ///< the client's last 'h'
  std::vector<xml::element_ptr> unacked;
  bool lost = false;
};

/// new connection -> session (request, XEP-0198 §5): <resume/> by
/// `user` (the bare JID it authenticated as) with the client's `h`.
/// Reply: msg::sm_resumed.
struct sm_resume {
  jid user;
  uint32_t h = 0;
  caf::actor connection;
};

/// session -> new connection: the answer to sm_resume. `failure` empty:
/// resumed; the connection is now the session's and writes `resend`
/// (the stanzas the client had not acknowledged, then those queued
/// while detached). Else "item-not-found" (no such resumable session of
/// this user) or "undefined-condition" (the client's h is above
/// `send_count`, the stanzas sent, XEP-0198 §4).
struct sm_resumed {
  std::string failure;
  jid full;
  uint32_t handled = 0;
  uint32_t send_count = 0;
  std::vector<xml::element_ptr> resend;
};

/// router shard -> session: an XEP-0280 carbon copy (from the user's
/// bare JID, <received/> or <sent/> wrapping the original). The session
/// addresses it to its full JID and delivers it only when its client
/// enabled carbons (carbons.cpp); the others drop it.
struct carbon {
  xml::element_ptr stanza;
};

/// session -> router shard of the user: `full` sent this message
/// (XEP-0280 §8); the shard copies it in <sent/> to the user's other
/// resources here and on other nodes.
struct sent_copy {
  jid full;
  xml::element_ptr stanza;
};

} // namespace msg
} // namespace dja

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::xml::element_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::jid)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::from_client)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::to_client)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::close_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::undelivered)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::bind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::unbind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::presence_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::route)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::deliver_local)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::push_to_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::roster_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::unavailable_to)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::outbound_subscription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::blocklist_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::presence_to)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::sm_enabled)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::sm_parked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::sm_resume)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::sm_resumed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::carbon)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::sent_copy)
