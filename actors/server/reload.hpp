#pragma once

// Reloading the configuration of a running server: SIGHUP and
// `djabberd-actors ctl reload` (actors/control). The file is read and
// checked as at the start (--check-config); a configuration with errors
// is refused with those errors and nothing changes. A valid one is
// applied without closing a connection (config_diff.hpp lists what is
// applied and what waits for a restart):
//   - certificates: every tls_cert/tls_key is loaded again (a file that
//     cannot be loaded refuses the whole reload); connections accepted
//     from then on use them, open TLS connections keep theirs;
//   - log_level at once;
//   - [limits], negotiation_timeout, max_stanza_size, TLS ciphers: for
//     the connections accepted from then on (the listeners get a new
//     server_context); max_connections(_per_address) for the next
//     accept; max_resources, max_pending_subscriptions in the router;
//   - a vhost added is served at once; a vhost removed stops taking new
//     streams and its sessions end with <host-gone/> (RFC 6120
//     §4.9.3.5); a vhost whose plugin chain changed gets a new vhost
//     actor with the new chain, used by new sessions and everything the
//     router delivers there, while sessions opened before keep the chain
//     they logged in with until they end.
// Reloads are serialized (one at a time).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "common/server_context.hpp"
#include "server/config.hpp"

namespace dja {

class running_server {
public:
  /// The server as run_server started it; `ctx` is the context its
  /// listeners got, `plugin_router` what the plugins route through.
  running_server(caf::actor_system& sys, config::server_cfg cfg,
                 std::shared_ptr<const server_context> ctx,
                 std::shared_ptr<const router_ref> plugin_router,
                 std::vector<caf::actor> vhost_actors);

  void set_listeners(std::vector<caf::actor> listeners);

  struct outcome {
    bool ok = false;
    std::string text; ///< what changed, or the errors (one per line)
  };

  /// Re-reads the configuration file and applies it (see above).
  outcome reload();

  /// The context of new connections (the newest vhosts, limits).
  context_ptr context() const;

  /// Every vhost actor started, also those a reload replaced or removed
  /// (sessions may still use them): the graceful stop drains them all.
  std::vector<caf::actor> vhost_actors() const;

private:
  /// A digest of each vhost's certificate and key files ("" : none or
  /// unreadable), to say which certificates a reload changed.
  static std::map<std::string, std::string>
  certificate_digests(const config::server_cfg& cfg);

  caf::actor_system& sys_;
  mutable std::mutex mtx_;
  config::server_cfg cfg_;
  std::shared_ptr<const server_context> ctx_;
  std::shared_ptr<const router_ref> plugin_router_;
  std::vector<caf::actor> listeners_;
  std::vector<caf::actor> vhost_actors_;
  std::map<std::string, std::string> digests_;
};

} // namespace dja
