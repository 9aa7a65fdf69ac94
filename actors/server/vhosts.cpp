// Starting the vhosts of a configuration (vhosts.hpp).

#include "server/vhosts.hpp"

#include <bitset>

#include <spdlog/spdlog.h>

#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

namespace dja {

namespace {

/// The hooks some plugin of `ps` serves.
std::bitset<64> served_hooks(const std::vector<plugin_instance>& ps) {
  std::bitset<64> res;
  for (auto& p : ps)
    for (auto h : p.manifest.hooks)
      res.set(h.index);
  return res;
}

/// XEP-0280 carbons and XEP-0352 CSI are handled by the core (session,
/// router) for the vhosts where a plugin declares them (plugins/carbons,
/// plugins/csi), so that what disco and the stream features advertise is
/// what the server does.
void mark_im_features(vhost_info& info,
                      const std::vector<plugin_instance>& ps) {
  for (auto& p : ps) {
    for (auto& f : p.manifest.features)
      info.carbons = info.carbons || f == ns::carbons;
    for (auto& f : p.manifest.stream_features)
      info.csi = info.csi || f == ns::csi;
  }
}

} // namespace

vhost_info start_vhost(caf::actor_system& sys, const config::vhost_cfg& v,
                       const std::string& data_dir,
                       std::shared_ptr<const router_ref> router) {
  auto plugins = make_plugins(v, data_dir, std::move(router));
  vhost_info info;
  info.domain = v.domain;
  info.correct_forged_from = v.correct_forged_from;
  info.served = served_hooks(plugins);
  info.has_tls = !v.tls_cert.empty();
  for (auto& p : plugins)
    for (auto& f : p.manifest.stream_features)
      if (f == "http://jabber.org/features/iq-register")
        info.inband_registration = true;
  mark_im_features(info, plugins); // XEP-0280, XEP-0352
  if (info.serves<hooks::auth_check_password>()
      && !info.serves<hooks::auth_get_scram>())
    spdlog::info("vhost {}: passwords are only checkable (no plugin "
                 "serves auth.get_scram): SASL offers PLAIN only{}",
                 v.domain, info.has_tls ? ", over TLS" : "");
  if (!info.has_tls && !info.is_service()) // a service has no logins
    spdlog::warn("vhost {} has no certificate: its streams cannot use TLS "
                 "and SASL PLAIN goes over unencrypted connections",
                 v.domain);
  info.actor = spawn_vhost(sys, v.domain, std::move(plugins));
  return info;
}

std::vector<tls::identity> tls_identities(const config::server_cfg& cfg) {
  std::vector<tls::identity> ids;
  for (auto& v : cfg.vhosts)
    if (!v.tls_cert.empty())
      ids.push_back(tls::identity{v.domain, v.tls_cert, v.tls_key});
  return ids;
}

std::shared_ptr<domain_set> blocking_domains(const vhost_table& vhosts) {
  auto out = std::make_shared<domain_set>();
  for (auto& [domain, info] : vhosts)
    if (info.serves<hooks::blocking_list>())
      out->insert(domain);
  return out;
}

} // namespace dja
