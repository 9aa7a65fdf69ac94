// What a reload changes (config_diff.hpp).

#include "server/config_diff.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace dja::config {

namespace {

bool same_listener(const listen_cfg& a, const listen_cfg& b) {
  return std::tie(a.kind, a.address, a.port, a.starttls,
                  a.allow_plain_without_tls, a.stream_management,
                  a.sasl_channel_binding)
         == std::tie(b.kind, b.address, b.port, b.starttls,
                     b.allow_plain_without_tls, b.stream_management,
                     b.sasl_channel_binding);
}

bool same_listeners(const server_cfg& a, const server_cfg& b) {
  return std::equal(a.listeners.begin(), a.listeners.end(),
                    b.listeners.begin(), b.listeners.end(), same_listener);
}

bool same_routes(const server_cfg& a, const server_cfg& b) {
  return std::equal(a.s2s_routes.begin(), a.s2s_routes.end(),
                    b.s2s_routes.begin(), b.s2s_routes.end(),
                    [](const s2s_route_cfg& x, const s2s_route_cfg& y) {
                      return std::tie(x.domain, x.host, x.port)
                             == std::tie(y.domain, y.host, y.port);
                    });
}

bool same_cluster(const cluster_cfg& a, const cluster_cfg& b) {
  return std::tie(a.enabled, a.node, a.listen_host, a.listen_port, a.peers,
                  a.tls_cert, a.tls_key, a.tls_ca, a.link_timeout,
                  a.forward_timeout)
         == std::tie(b.enabled, b.node, b.listen_host, b.listen_port,
                     b.peers, b.tls_cert, b.tls_key, b.tls_ca,
                     b.link_timeout, b.forward_timeout);
}

bool same_plugin(const plugin_cfg& a, const plugin_cfg& b) {
  return a.type == b.type && a.library == b.library && a.options == b.options
         && a.timeout == b.timeout && a.only_hooks == b.only_hooks;
}

/// The keys that need a restart, each with a check of its sameness.
std::vector<std::string> restart_keys(const server_cfg& a,
                                      const server_cfg& b) {
  std::vector<std::string> out;
  auto check = [&](bool same, const char* key) {
    if (!same)
      out.emplace_back(key);
  };
  check(same_listeners(a, b), "listen");
  check(a.data_dir == b.data_dir, "server.data_dir");
  check(a.log_file == b.log_file, "server.log_file");
  check(a.control_socket == b.control_socket, "server.control_socket");
  check(a.plugin_dirs == b.plugin_dirs, "server.plugin_dirs");
  check(a.shutdown_timeout == b.shutdown_timeout, "server.shutdown_timeout");
  check(a.auth_fail_limit == b.auth_fail_limit
          && a.auth_fail_window == b.auth_fail_window
          && a.auth_delay_max == b.auth_delay_max,
        "server.auth_fail_limit/auth_fail_window/auth_delay_max");
  check(std::tie(a.s2s_tls, a.s2s_ca_file, a.s2s_dialback_secret,
                 a.s2s_require_certificate, a.s2s_idle_timeout,
                 a.s2s_connect_timeout, a.s2s_handshake_timeout)
            == std::tie(b.s2s_tls, b.s2s_ca_file, b.s2s_dialback_secret,
                        b.s2s_require_certificate, b.s2s_idle_timeout,
                        b.s2s_connect_timeout, b.s2s_handshake_timeout)
          && same_routes(a, b),
        "server.s2s_* / s2s_route");
  check(same_cluster(a.cluster, b.cluster), "cluster");
  return out;
}

} // namespace

bool config_diff::nothing_to_apply() const {
  return !log_level && server_keys.empty() && limits.empty()
         && vhosts_added.empty() && vhosts_removed.empty()
         && vhosts_changed.empty() && certificate_paths.empty();
}

std::vector<std::string> changed_limits(const dja::limits& a,
                                        const dja::limits& b) {
  std::vector<std::string> out;
#define DJA_LIMIT(key)                                                         \
  if (a.key != b.key)                                                          \
    out.emplace_back("limits." #key);
  DJA_LIMIT(c2s_stanza_size)
  DJA_LIMIT(s2s_stanza_size)
  DJA_LIMIT(preauth_stanza_size)
  DJA_LIMIT(write_buffer)
  DJA_LIMIT(c2s_rate)
  DJA_LIMIT(s2s_rate)
  DJA_LIMIT(rate_burst)
  DJA_LIMIT(max_connections)
  DJA_LIMIT(max_connections_per_address)
  DJA_LIMIT(c2s_idle_timeout)
  DJA_LIMIT(c2s_ping_timeout)
  DJA_LIMIT(max_resources)
  DJA_LIMIT(max_pending_subscriptions)
  DJA_LIMIT(max_iqs_in_flight)
  DJA_LIMIT(resume_timeout)
  DJA_LIMIT(max_unacked)
  DJA_LIMIT(csi_queue)
#undef DJA_LIMIT
  return out;
}

bool same_chain(const vhost_cfg& a, const vhost_cfg& b) {
  return a.default_plugins == b.default_plugins
         && a.correct_forged_from == b.correct_forged_from
         && std::equal(a.plugins.begin(), a.plugins.end(), b.plugins.begin(),
                       b.plugins.end(), same_plugin);
}

config_diff diff(const server_cfg& before, const server_cfg& after) {
  config_diff d;
  d.log_level = before.log_level != after.log_level;
  if (before.negotiation_timeout != after.negotiation_timeout)
    d.server_keys.emplace_back("server.negotiation_timeout");
  if (before.max_stanza_size != after.max_stanza_size)
    d.server_keys.emplace_back("server.max_stanza_size");
  if (before.tls_ciphers != after.tls_ciphers)
    d.server_keys.emplace_back("server.tls_ciphers");
  if (before.tls_ciphersuites != after.tls_ciphersuites)
    d.server_keys.emplace_back("server.tls_ciphersuites");
  d.limits = changed_limits(before.limits, after.limits);
  std::map<std::string, const vhost_cfg*> old_vhosts;
  for (auto& v : before.vhosts)
    old_vhosts.emplace(v.domain, &v);
  for (auto& v : after.vhosts) {
    auto i = old_vhosts.find(v.domain);
    if (i == old_vhosts.end()) {
      d.vhosts_added.push_back(v.domain);
      continue;
    }
    auto& o = *i->second;
    if (!same_chain(o, v))
      d.vhosts_changed.push_back(v.domain);
    else if (o.tls_cert != v.tls_cert || o.tls_key != v.tls_key)
      d.certificate_paths.push_back(v.domain);
    old_vhosts.erase(i);
  }
  for (auto& [domain, _] : old_vhosts)
    d.vhosts_removed.push_back(domain);
  d.restart = restart_keys(before, after);
  return d;
}

server_cfg applicable(const server_cfg& before, const server_cfg& after) {
  auto out = after;
  out.file = before.file;
  out.listeners = before.listeners;
  out.data_dir = before.data_dir;
  out.log_file = before.log_file;
  out.control_socket = before.control_socket;
  out.control_socket_line = before.control_socket_line;
  out.plugin_dirs = before.plugin_dirs;
  out.shutdown_timeout = before.shutdown_timeout;
  out.auth_fail_limit = before.auth_fail_limit;
  out.auth_fail_window = before.auth_fail_window;
  out.auth_delay_max = before.auth_delay_max;
  out.s2s_tls = before.s2s_tls;
  out.s2s_ca_file = before.s2s_ca_file;
  out.s2s_dialback_secret = before.s2s_dialback_secret;
  out.s2s_require_certificate = before.s2s_require_certificate;
  out.s2s_idle_timeout = before.s2s_idle_timeout;
  out.s2s_connect_timeout = before.s2s_connect_timeout;
  out.s2s_handshake_timeout = before.s2s_handshake_timeout;
  out.s2s_routes = before.s2s_routes;
  out.cluster = before.cluster;
  return out;
}

} // namespace dja::config
