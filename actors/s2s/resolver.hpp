#pragma once

// Finding and reaching a peer server without blocking any other actor:
// one detached actor per connection attempt (its own thread) looks up
// DNS SRV _xmpp-server._tcp.DOMAIN with glibc's libresolv (RFC 6120
// §3.2.1), falls back to the domain's A/AAAA records and port 5269
// (§3.2.2), or takes a static route; then connects to each address in
// turn with a bounded non-blocking connect, and answers with the socket.
//
//   (connect_atom, domain, route host, route port, connect timeout)
//     -> connect_result (then the actor quits)

#include <chrono>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace dja::s2s {

using connect_atom = caf::atom_constant<caf::atom("connect")>;

struct connect_result {
  int fd = -1;          ///< a connected, non-blocking socket; -1: none
  std::string peer;     ///< "host:port" reached, or what was tried
  std::string error;    ///< why not (for the log)
  bool timed_out = false; ///< some attempt timed out (not refused)
};

/// Spawns the detached actor for one attempt.
caf::actor spawn_connector(caf::actor_system& sys);

/// A target of an SRV lookup.
struct srv_target {
  std::string host;
  uint16_t port = 0;
  int priority = 0;
  int weight = 0;
};

/// DNS SRV records for `name` in the order to try them (RFC 2782:
/// priority, then weight). `found` false: no such records (or no DNS);
/// a single "." target means the service is decidedly not available.
std::vector<srv_target> lookup_srv(const std::string& name, bool& found);

/// The SRV records of a DNS answer (the wire format res_nquery returns),
/// sorted as lookup_srv() returns them; a root target is ".".
std::vector<srv_target> parse_srv(const unsigned char* answer, int len);

} // namespace dja::s2s

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::s2s::connect_result)
