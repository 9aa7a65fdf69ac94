#pragma once

// The messages of the operator's tools (actors/control, the reload of
// actors/server/reload.hpp) to the core actors. Kept apart from
// common/messages.hpp: only the actors that answer them include this.
//
//   router shard  (list_atom)               -> msg::bound_sessions
//                 msg::new_routing            the vhosts after a reload
//   session       (info_atom)               -> msg::session_info
//                 (kick_atom, cond, text)     end with that stream error
//   connection    (info_atom)               -> std::string TLS version
//   listener      msg::new_context            what new connections get

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "common/jid.hpp"
#include "common/limits.hpp"
#include "common/server_context.hpp"

namespace dja {

/// `ctl sessions|kick|broadcast`: a router shard lists its resources.
using list_atom = caf::atom_constant<caf::atom("list")>;
/// `ctl sessions`: a session (and its connection) describes itself.
using info_atom = caf::atom_constant<caf::atom("info")>;
/// `ctl kick`, a vhost removed by a reload: the session ends with the
/// stream error given (RFC 6120 §4.9.3), resumable or not.
using kick_atom = caf::atom_constant<caf::atom("kick")>;

namespace msg {

/// One resource bound on a router shard.
struct bound_session {
  jid full;
  caf::actor session;
};
using bound_sessions = std::vector<bound_session>;

/// What `ctl sessions` shows of one session.
struct session_info {
  std::string remote;   ///< the client's address
  int64_t since = 0;    ///< bound at, Unix seconds
  std::string sm;       ///< "", "acks", "resumable", "detached"
  caf::actor conn;      ///< null while detached (XEP-0198)
};

/// reload -> router shard: the vhosts (and their blocking domains, the
/// routing bounds of [limits]) from now on.
struct new_routing {
  std::shared_ptr<const vhost_table> vhosts;
  std::shared_ptr<const std::unordered_set<std::string>> blocking;
  dja::limits bounds;
};

/// reload -> listener: the context of the connections it accepts from
/// now on (open ones keep theirs: their certificate, limits, vhosts).
struct new_context {
  context_ptr ctx;
};

} // namespace msg
} // namespace dja

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::bound_sessions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::session_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::new_routing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::msg::new_context)
