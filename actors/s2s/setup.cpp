#include "s2s/setup.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "router/router.hpp"
#include "s2s/dialback.hpp"
#include "s2s/s2s.hpp"
#include "s2s/settings.hpp"

namespace dja::s2s {

bool start(caf::actor_system& sys, const std::shared_ptr<server_context>& ctx,
           settings cfg, const start_options& opts,
           const std::vector<tls::identity>& ids, std::string& error) {
  auto st = std::make_shared<settings>(std::move(cfg));
  if (st->dialback_secret.empty()) {
    st->dialback_secret = load_or_make_secret(opts.data_dir, error);
    if (st->dialback_secret.empty())
      return false;
  }
  st->trust = tls::peer_trust::make(ids, opts.ca_file, opts.tls_ciphers,
                                    opts.tls_ciphersuites, error);
  if (!st->trust)
    return false;
  if (ctx->tls)
    ctx->tls->set_verify_store(st->trust->store());
  ctx->s2s_settings = st;
  ctx->s2s = spawn_manager(sys, ctx, opts.data_dir);
  for (auto& shard : ctx->router.shards)
    caf::anon_send(shard, s2s_route_atom::value, ctx->s2s);
  spdlog::info("federation on: s2s_tls = {}, {} static route(s), "
               "idle timeout {}s",
               st->tls_required ? "required" : "optional",
               st->routes.size(), st->idle_timeout.count());
  return true;
}

} // namespace dja::s2s
