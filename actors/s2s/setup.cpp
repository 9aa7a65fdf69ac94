#include "s2s/setup.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "router/router.hpp"
#include "s2s/dialback.hpp"
#include "s2s/s2s.hpp"
#include "s2s/settings.hpp"

namespace dja::s2s {

bool enabled(const config::server_cfg& cfg) {
  for (auto& l : cfg.listeners)
    if (l.kind == "s2s")
      return true;
  return false;
}

bool start(caf::actor_system& sys, const std::shared_ptr<server_context>& ctx,
           const config::server_cfg& cfg,
           const std::vector<tls::identity>& ids, std::string& error) {
  auto st = std::make_shared<settings>();
  st->tls_required = cfg.s2s_tls == "required";
  st->require_certificate.insert(cfg.s2s_require_certificate.begin(),
                                 cfg.s2s_require_certificate.end());
  st->idle_timeout = cfg.s2s_idle_timeout;
  st->connect_timeout = cfg.s2s_connect_timeout;
  st->handshake_timeout = cfg.s2s_handshake_timeout;
  for (auto& r : cfg.s2s_routes)
    st->routes[r.domain] = route{r.host, r.port};
  st->dialback_secret = cfg.s2s_dialback_secret;
  if (st->dialback_secret.empty()) {
    st->dialback_secret = load_or_make_secret(cfg.data_dir, error);
    if (st->dialback_secret.empty())
      return false;
  }
  st->trust = tls::peer_trust::make(ids, cfg.s2s_ca_file, cfg.tls_ciphers,
                                    cfg.tls_ciphersuites, error);
  if (!st->trust)
    return false;
  if (ctx->tls)
    ctx->tls->set_verify_store(st->trust->store());
  ctx->s2s_settings = st;
  ctx->s2s = spawn_manager(sys, ctx, cfg.data_dir);
  for (auto& shard : ctx->router.shards)
    caf::anon_send(shard, s2s_route_atom::value, ctx->s2s);
  spdlog::info("federation on: s2s_tls = {}, {} static route(s), "
               "idle timeout {}s",
               cfg.s2s_tls, st->routes.size(), st->idle_timeout.count());
  return true;
}

} // namespace dja::s2s
