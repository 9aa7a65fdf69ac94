// Reloading the configuration of a running server (reload.hpp).

#include "server/reload.hpp"

#include <algorithm>
#include <cstdio>

#include <caf/all.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "common/operator_messages.hpp"
#include "listener/connection_limits.hpp"
#include "router/router.hpp"
#include "s2s/settings.hpp"
#include "server/config_diff.hpp"
#include "server/vhosts.hpp"
#include "stream/tls.hpp"

namespace dja {

namespace {

/// The SHA-256 fingerprint of the first certificate in `file`
/// (AB:CD:...), "" when it cannot be read.
std::string fingerprint(const std::string& file) {
  auto f = std::fopen(file.c_str(), "r");
  if (f == nullptr)
    return "";
  auto cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr)
    return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof(hex), i + 1 < n ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

} // namespace

running_server::running_server(caf::actor_system& sys,
                               config::server_cfg cfg,
                               std::shared_ptr<const server_context> ctx,
                               std::shared_ptr<const router_ref> plugin_router,
                               std::vector<caf::actor> vhost_actors)
  : sys_(sys),
    cfg_(std::move(cfg)),
    ctx_(std::move(ctx)),
    plugin_router_(std::move(plugin_router)),
    vhost_actors_(std::move(vhost_actors)) {
  digests_ = certificate_digests(cfg_);
}

void running_server::set_listeners(std::vector<caf::actor> listeners) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_ = std::move(listeners);
}

context_ptr running_server::context() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ctx_;
}

std::vector<caf::actor> running_server::vhost_actors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return vhost_actors_;
}

std::map<std::string, std::string>
running_server::certificate_digests(const config::server_cfg& cfg) {
  std::map<std::string, std::string> out;
  for (auto& v : cfg.vhosts)
    out[v.domain] = v.tls_cert.empty() ? "" : fingerprint(v.tls_cert);
  return out;
}

running_server::outcome running_server::reload() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& file = cfg_.file;
  auto loaded = config::load_file(file);
  if (!loaded.ok()) {
    std::string text;
    for (auto& e : loaded.errors)
      text += e.to_string() + "\n";
    text += file + ": " + std::to_string(loaded.errors.size())
            + " error(s); nothing changed, the running configuration "
              "stays\n";
    return {false, text};
  }
  auto next = config::applicable(cfg_, loaded.cfg);
  auto d = config::diff(cfg_, loaded.cfg);
  // Certificates first: one that cannot be loaded refuses everything.
  std::shared_ptr<tls::context_set> tls;
  auto ids = tls_identities(next);
  if (!ids.empty()) {
    std::string err;
    tls = tls::context_set::make(ids, next.tls_ciphers, next.tls_ciphersuites,
                                 err);
    if (!tls)
      return {false, file + ": TLS: " + err
                       + "\nnothing changed, the running configuration "
                         "stays\n"};
    if (ctx_->s2s_settings && ctx_->s2s_settings->trust)
      tls->set_verify_store(ctx_->s2s_settings->trust->store());
  }
  auto digests = certificate_digests(next);
  std::vector<std::string> new_certs;
  for (auto& [domain, fp] : digests) {
    auto i = digests_.find(domain);
    if (i != digests_.end() && i->second != fp)
      new_certs.push_back(domain
                          + (fp.empty() ? std::string{" (none now)"}
                                        : " (SHA-256 " + fp + ")"));
  }
  std::string out = "reloaded " + file + ":\n";
  // The context of the connections accepted from now on.
  auto ctx = std::make_shared<server_context>(*ctx_);
  ctx->limits = next.limits;
  ctx->max_stanza_size = next.limits.c2s_stanza_size;
  ctx->negotiation_timeout = next.negotiation_timeout;
  ctx->tls = tls;
  for (auto& domain : d.vhosts_removed)
    ctx->vhosts.erase(domain);
  for (auto& v : next.vhosts) {
    bool fresh = std::find(d.vhosts_added.begin(), d.vhosts_added.end(),
                           v.domain)
                   != d.vhosts_added.end()
                 || std::find(d.vhosts_changed.begin(),
                              d.vhosts_changed.end(), v.domain)
                      != d.vhosts_changed.end();
    if (fresh) {
      auto info = start_vhost(sys_, v, next.data_dir, plugin_router_);
      vhost_actors_.push_back(info.actor);
      ctx->vhosts[v.domain] = std::move(info);
    }
    ctx->vhosts[v.domain].has_tls = !v.tls_cert.empty() && tls != nullptr;
  }
  // The router first (deliveries to an added vhost), then the listeners.
  auto table = std::make_shared<const vhost_table>(ctx->vhosts);
  std::shared_ptr<const domain_set> blocking = blocking_domains(*table);
  for (auto& shard : ctx->router.shards)
    caf::anon_send(shard, msg::new_routing{table, blocking, next.limits});
  if (ctx->conn_limits)
    ctx->conn_limits->set_bounds(next.limits.max_connections,
                                 next.limits.max_connections_per_address);
  ctx_ = ctx;
  for (auto& l : listeners_)
    caf::anon_send(l, msg::new_context{ctx_});
  if (d.log_level) {
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    out += "  log_level: " + cfg_.log_level + " -> " + next.log_level
           + "\n";
  }
  if (!new_certs.empty())
    out += "  new certificate for new connections: " + joined(new_certs)
           + "\n";
  if (!d.server_keys.empty() || !d.limits.empty()) {
    auto keys = d.server_keys;
    keys.insert(keys.end(), d.limits.begin(), d.limits.end());
    out += "  for new connections: " + joined(keys) + "\n";
  }
  if (!d.vhosts_added.empty())
    out += "  vhosts added: " + joined(d.vhosts_added) + "\n";
  if (!d.vhosts_changed.empty())
    out += "  vhosts with a new plugin chain (new sessions; open ones "
           "keep theirs): "
           + joined(d.vhosts_changed) + "\n";
  if (!d.certificate_paths.empty())
    out += "  certificate files moved: " + joined(d.certificate_paths)
           + "\n";
  if (!d.vhosts_removed.empty()) {
    // RFC 6120 §4.9.3.5 <host-gone/>: no longer served here.
    size_t closed = 0;
    caf::scoped_actor self{sys_};
    for (auto& shard : ctx->router.shards)
      self->request(shard, std::chrono::seconds(5), list_atom::value)
        .receive(
          [&](msg::bound_sessions& ss) {
            for (auto& s : ss)
              if (std::find(d.vhosts_removed.begin(), d.vhosts_removed.end(),
                            s.full.domain())
                  != d.vhosts_removed.end()) {
                self->send(s.session, kick_atom::value,
                           std::string{"host-gone"},
                           "this server no longer serves "
                             + s.full.domain());
                ++closed;
              }
          },
          [](caf::error&) {});
    out += "  vhosts removed: " + joined(d.vhosts_removed) + " ("
           + std::to_string(closed) + " session(s) closed with host-gone)\n";
  }
  if (d.nothing_to_apply() && new_certs.empty())
    out += "  no change\n";
  if (!d.restart.empty())
    out += "  changed but kept until a restart: " + joined(d.restart)
           + "\n";
  cfg_ = std::move(next);
  digests_ = std::move(digests);
  return {true, out};
}

} // namespace dja
