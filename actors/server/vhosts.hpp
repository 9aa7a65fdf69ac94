#pragma once

// Starting the vhosts of a configuration: at the server's start and for
// each vhost a reload adds or changes (server/reload.hpp).

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "common/server_context.hpp"
#include "router/router.hpp"
#include "server/config.hpp"
#include "stream/tls.hpp"

namespace dja {

/// Spawns the vhost actor of `v` with its plugins (make_plugins in
/// server.hpp); what the core sees of it. Logs what an operator should
/// know about it (no certificate, PLAIN only).
vhost_info start_vhost(caf::actor_system& sys, const config::vhost_cfg& v,
                       const std::string& data_dir,
                       std::shared_ptr<const router_ref> router);

/// The TLS identities (certificate and key per vhost domain) of `cfg`:
/// what the server's start and a reload load.
std::vector<tls::identity> tls_identities(const config::server_cfg& cfg);

/// The domains of `vhosts` that enforce XEP-0191 block lists (a plugin
/// serves blocking.list): the router asks them before presence.
std::shared_ptr<domain_set> blocking_domains(const vhost_table& vhosts);

} // namespace dja
