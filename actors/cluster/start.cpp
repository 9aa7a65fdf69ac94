#include "cluster/start.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/services.hpp"

namespace dja::cluster {

std::string configure(const settings& cfg,
                      caf::actor_system_config& sys_cfg) {
  auto err = check_tls_files(cfg.tls_cert, cfg.tls_key, cfg.tls_ca);
  if (!err.empty())
    return err;
  // CAF's OpenSSL session (libcaf_openssl/src/openssl/session.cpp) turns
  // on SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT on both ends as
  // soon as any of these is set: a peer without a certificate by our CA
  // fails the handshake, before any BASP message is read.
  sys_cfg.load<caf::openssl::manager>();
  sys_cfg.openssl_certificate = cfg.tls_cert;
  sys_cfg.openssl_key = cfg.tls_key;
  sys_cfg.openssl_cafile = cfg.tls_ca;
  // A link that goes silent (a host gone, a network split) is closed
  // after link_timeout; its node actor then goes down on every peer.
  sys_cfg.set("middleman.heartbeat-interval",
              caf::timespan{cfg.link_timeout / 4});
  sys_cfg.set("middleman.connection-timeout", caf::timespan{cfg.link_timeout});
  add_message_types(sys_cfg);
  return {};
}

std::shared_ptr<const link> start(caf::actor_system& sys,
                                  const settings& cfg,
                                  const std::string& data_dir,
                                  std::shared_ptr<const vhost_table> vhosts) {
  auto dir = std::make_shared<directory>();
  node_options opts;
  opts.name = cfg.node;
  opts.listen = peer_address{cfg.listen_host, cfg.listen_port};
  for (auto& [host, port] : cfg.peers)
    opts.peers.push_back(peer_address{host, port});
  opts.forward_timeout = cfg.forward_timeout;
  opts.status_file = data_dir + "/cluster-status";
  auto node = spawn_node(sys, opts, dir, std::move(vhosts));
  // Runs on the main thread at start-up (not a scheduler worker).
  auto port = caf::openssl::publish(node, cfg.listen_port,
                                    cfg.listen_host.c_str(), true);
  if (!port) {
    spdlog::critical("{}: cluster.listen: cannot listen on {}:{}: {}",
                     cfg.where, cfg.listen_host, cfg.listen_port,
                     sys.render(port.error()));
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return nullptr;
  }
  sys.registry().put(node_atom::value, node); // for components
  spdlog::info("cluster: node {} listening on {}:{}, {} peer(s)", cfg.node,
               cfg.listen_host, *port, cfg.peers.size());
  return std::make_shared<link>(link{dir, node});
}

} // namespace dja::cluster
