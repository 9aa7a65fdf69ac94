#pragma once

// The resource bounds of the server: what one peer (a connection, an
// account, an address) may cost at most. Each is a `[limits]` key in the
// configuration (actors/server/config_limits.cpp parses them; the defaults
// below are what the server uses without one). 0 means "no bound" only
// where a field says so.
//
// Defaults follow what Prosody 0.12 and ejabberd 23 ship: stanza sizes as
// Prosody's c2s/s2s_stanza_size_limit, a per-connection shaper like
// Prosody's mod_limits / ejabberd's c2s_shaper, session and resource caps
// like ejabberd's max_user_sessions.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dja {

struct limits {
  // --- streams ---
  /// Largest stanza a client may send (bytes); larger: the stream ends
  /// with <policy-violation/> (RFC 6120 §4.9.3.14).
  std::size_t c2s_stanza_size = 256 * 1024;
  /// Largest stanza a federated server may send (bytes).
  std::size_t s2s_stanza_size = 512 * 1024;
  /// Largest stanza before a stream is authenticated (bytes): parse
  /// trees of strangers stay a few KiB.
  std::size_t preauth_stanza_size = 10 * 1024;
  /// Bytes a connection may hold that the kernel has not taken (a peer
  /// that does not read). A write that finds more than this waiting cuts
  /// the connection after what the kernel already has (stream/pump.cpp),
  /// and every stanza for the client whose bytes the kernel had not
  /// taken, and those its session gets afterwards, go back to the router
  /// (offline storage or a bounce, RFC 6121 §8.5). Memory held per
  /// connection stays under this plus one stanza (and the stanzas it
  /// serializes, kept for the hand-back). Stored messages are written
  /// paced (session/offline.cpp), so a long offline queue does not trip
  /// it. Prosody's server_select closes at 51 MB ("send buffer
  /// exceeded"); 1 MiB is some seconds of a fast client's traffic.
  std::size_t write_buffer = 1024 * 1024;
  /// Bytes per second read from one client connection (a token bucket:
  /// past it the server reads less, it drops nothing); 0 = unbounded.
  /// 10 KiB/s as Prosody's mod_limits suggests for c2s (ejabberd's
  /// c2s_shaper "normal" is 1-3 kB/s): far above what a person's client
  /// sends, low enough that one flooding client cannot take the
  /// multiplexer from the others. bench/ sets 0 to measure the core.
  std::size_t c2s_rate = 10 * 1024;
  /// Bytes per second read from one server-to-server connection (it
  /// carries many users): ejabberd's s2s_shaper "fast", 100 kB/s; 0 =
  /// unbounded.
  std::size_t s2s_rate = 100 * 1000;
  /// Bytes a connection may read at once above its rate (the bucket,
  /// full at the start): one stanza of the c2s maximum passes without
  /// waiting (a vCard with an avatar), a flood is slowed after it.
  std::size_t rate_burst = 256 * 1024;

  // --- connections ---
  /// Open connections (all listeners); 0 = derived from the open-file
  /// limit (RLIMIT_NOFILE less a reserve for databases and logs).
  std::size_t max_connections = 0;
  /// Open connections from one remote address (IPv6: its /64); 0 =
  /// unbounded.
  std::size_t max_connections_per_address = 1000;

  // --- sessions ---
  /// A bound stream that sends nothing this long gets an XEP-0199 ping.
  std::chrono::seconds c2s_idle_timeout{300};
  /// ... and is closed (<connection-timeout/>) when nothing arrives
  /// within this long after the ping.
  std::chrono::seconds c2s_ping_timeout{60};
  /// Resources one account may bind at once (bind answers
  /// <resource-constraint/> beyond it).
  std::size_t max_resources = 100;
  /// Subscription requests one user may have pending (more are dropped).
  std::size_t max_pending_subscriptions = 500;
  /// IQ get/set a session may have waiting for an answer (from the
  /// server or another entity); beyond it <resource-constraint/>.
  std::size_t max_iqs_in_flight = 64;

  // --- XEP-0198 stream management ---
  /// Seconds a session whose connection died stays bound, waiting for a
  /// <resume/> (a client's smaller `max` is honoured); then it ends and
  /// its unacknowledged stanzas go to offline storage or bounce. 300 as
  /// Prosody's smacks_hibernation_time and ejabberd's resume_timeout;
  /// 0 = no resumption (acks only).
  std::chrono::seconds resume_timeout{300};
  /// Stanzas sent to a client and not yet acknowledged (or queued for a
  /// detached session); beyond it the stream ends with
  /// <policy-violation/> (RFC 6120 §4.9.3.14) and they are routed again
  /// (offline storage or a bounce). ejabberd's max_ack_queue is 5000.
  std::size_t max_unacked = 5000;
  /// XEP-0352: stanzas an inactive client's session holds back (presence
  /// and chat states, folded); one more flushes them all. Prosody's
  /// mod_csi_simple queues 256.
  std::size_t csi_queue = 256;
};

} // namespace dja
