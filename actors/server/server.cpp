#include "server/server.hpp"

#include <algorithm>
#include <bitset>
#include <csignal>
#include <memory>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "cluster/start.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "control/start.hpp"
#include "common/server_context.hpp"
#include "common/login_throttle.hpp"
#include "common/stream_management.hpp"
#include "listener/connection_limits.hpp"
#include "stream/tls.hpp"
#include "listener/listener.hpp"
#include "web/settings.hpp"
#include "metrics/http_routes.hpp"
#include "metrics/metrics.hpp"
#include "metrics/cells.hpp"
#include "server/registry.hpp"
#include "router/router.hpp"
#include "s2s/setup.hpp"
#include "server/memory_trim.hpp"
#include "server/reload.hpp"
#include "server/vhosts.hpp"

namespace dja {

std::vector<plugin_instance>
make_plugins(const config::vhost_cfg& cfg, const std::string& data_dir,
             std::shared_ptr<const router_ref> router) {
  auto vhost = cfg;
  // One roster source is enough: any plugin serving roster.get counts
  // (roster.*, and also sql, http or a plugin library reading rosters
  // from elsewhere; a volatile roster.memory behind those would take
  // the writes their rosters never show).
  auto serves_rosters = [](const config::plugin_cfg& p) {
    auto type = plugins::find_type(p.type);
    if (type == nullptr)
      return false;
    auto id = hooks::id<hooks::roster_get>;
    auto hs = type->describe(p.options).hooks;
    auto subset_ok = p.only_hooks.empty()
                     || std::find(p.only_hooks.begin(), p.only_hooks.end(),
                                  id)
                          != p.only_hooks.end();
    return subset_ok && std::find(hs.begin(), hs.end(), id) != hs.end();
  };
  if (vhost.default_plugins)
    for (auto name : {"roster.memory", "disco", "ping", "version"}) {
      bool roster = name == std::string{"roster.memory"};
      auto listed = std::any_of(vhost.plugins.begin(), vhost.plugins.end(),
                                [&](auto& p) {
                                  return roster ? serves_rosters(p)
                                                : p.type == name;
                                });
      if (!listed) {
        config::plugin_cfg p;
        p.type = name;
        p.where = vhost.where + " (default plugin)";
        vhost.plugins.push_back(std::move(p));
      }
    }
  std::vector<plugin_instance> out;
  for (auto& p : vhost.plugins) {
    auto type = plugins::find_type(p.type);
    if (type == nullptr)
      continue; // rejected by the config check already
    plugin_instance inst;
    inst.name = type->name;
    inst.manifest = type->describe(p.options);
    if (!p.only_hooks.empty()) { // `hooks = [...]`: a subset
      auto& hs = inst.manifest.hooks;
      hs.erase(std::remove_if(hs.begin(), hs.end(),
                              [&](hooks::hook_id h) {
                                return std::find(p.only_hooks.begin(),
                                                 p.only_hooks.end(), h)
                                       == p.only_hooks.end();
                              }),
               hs.end());
    }
    inst.timeout = p.timeout;
    out.push_back(std::move(inst));
  }
  // The disco plugin answers from what all plugins declared together.
  auto all = std::make_shared<plugins::manifest>(merge_manifests(out));
  size_t i = 0;
  for (auto& p : vhost.plugins) {
    auto type = plugins::find_type(p.type);
    if (type == nullptr)
      continue;
    auto options = std::make_shared<toml::table>(p.options);
    out[i++].spawn = [type, options, all, domain = vhost.domain, data_dir,
                      router](caf::actor_system& sys, caf::actor vhost) {
      plugins::spawn_context ctx{sys,   domain,           data_dir, *options,
                                 *all,  std::move(vhost), router};
      return type->spawn(ctx);
    };
  }
  return out;
}

namespace {

/// True when the configuration has an s2s listener (federation on).
bool s2s_enabled(const config::server_cfg& cfg) {
  for (auto& l : cfg.listeners)
    if (l.kind == "s2s")
      return true;
  return false;
}

/// The federation settings of the configuration (actors/s2s/settings.hpp).
s2s::settings s2s_settings(const config::server_cfg& cfg) {
  s2s::settings st;
  st.tls_required = cfg.s2s_tls == "required";
  st.require_certificate.insert(cfg.s2s_require_certificate.begin(),
                                cfg.s2s_require_certificate.end());
  st.idle_timeout = cfg.s2s_idle_timeout;
  st.connect_timeout = cfg.s2s_connect_timeout;
  st.handshake_timeout = cfg.s2s_handshake_timeout;
  for (auto& r : cfg.s2s_routes)
    st.routes[r.domain] = s2s::route{r.host, r.port};
  st.dialback_secret = cfg.s2s_dialback_secret;
  return st;
}

/// Graceful stop, after the connections closed: waits until every stanza
/// they handed on has gone through the router and the vhosts' chains
/// (stored offline, delivered or bounced), so that no plugin stops with a
/// request in flight. Quiet means: a barrier through every router shard,
/// then no vhost with a request in flight and none started since the
/// previous poll, twice in a row. Bounded by `timeout`; what is still in
/// flight then is logged as lost.
void drain_pipeline(caf::scoped_actor& self,
                    const std::vector<caf::actor>& shards,
                    const std::vector<caf::actor>& vhosts,
                    std::chrono::seconds timeout) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto deadline = start + timeout;
  std::vector<uint64_t> last(vhosts.size(), ~uint64_t{0});
  int quiet_rounds = 0;
  uint64_t inflight = 0;
  while (quiet_rounds < 2) {
    if (clock::now() > deadline) {
      spdlog::error("shutdown: drain time ({} s) ran out: {} requests in "
                    "flight lost (stanzas not stored nor bounced)",
                    timeout.count(), inflight);
      return;
    }
    for (auto& s : shards)
      self->request(s, std::chrono::seconds(1), drain_atom::value)
        .receive([](size_t) {}, [](caf::error&) {});
    bool quiet = true;
    inflight = 0;
    for (size_t i = 0; i < vhosts.size(); ++i)
      self->request(vhosts[i], std::chrono::seconds(1), drain_atom::value)
        .receive(
          [&](uint64_t n, uint64_t started) {
            inflight += n;
            if (n > 0 || started != last[i])
              quiet = false;
            last[i] = started;
          },
          [&](caf::error&) {});
    quiet_rounds = quiet ? quiet_rounds + 1 : 0;
    if (quiet_rounds < 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  spdlog::info("shutdown: pipeline drained in {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 clock::now() - start)
                 .count());
}

/// A reload (SIGHUP, `ctl reload`) that systemd sees: RELOADING=1 before
/// and READY=1 after (sd_notify(3); ExecReload waits for it).
running_server::outcome reload_notified(running_server& running) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
             static_cast<unsigned long long>(now.tv_sec) * 1000000ULL
               + static_cast<unsigned long long>(now.tv_nsec / 1000));
  auto res = running.reload();
  sd_notify(0, "READY=1");
  return res;
}

/// Blocks until SIGTERM or SIGINT (blocked in every thread by main);
/// a SIGHUP meanwhile reloads the configuration (server/reload.hpp).
int wait_for_signal(running_server& running) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGHUP)
      return sig;
    spdlog::info("SIGHUP: reloading the configuration");
    auto res = reload_notified(running);
    for (size_t i = 0, j; i < res.text.size(); i = j + 1) {
      j = res.text.find('\n', i);
      if (j == std::string::npos)
        j = res.text.size();
      if (j == i)
        continue;
      if (res.ok)
        spdlog::info("{}", res.text.substr(i, j - i));
      else
        spdlog::error("{}", res.text.substr(i, j - i));
    }
  }
}

} // namespace

int run_server(const config::server_cfg& cfg) {
  caf::actor_system_config sys_cfg;
  sys_cfg.load<caf::io::middleman>();
  // CAF's work-stealing workers poll with short sleeps before they rest;
  // an XMPP server is mostly idle between stanzas, so rest sooner (the
  // defaults burn a large share of a core at a few hundred stanzas/s).
  // Measured at 2,000 msgs/s: 5.3 s of CPU per 10 s with CAF's defaults,
  // 2.6 s with these, p99 latency 0.5 ms -> 1.0 ms.
  sys_cfg.set("work-stealing.aggressive-poll-attempts", 20);
  sys_cfg.set("work-stealing.moderate-poll-attempts", 10);
  sys_cfg.set("work-stealing.moderate-sleep-duration",
              caf::timespan{std::chrono::microseconds(200)});
  if (cfg.cluster.enabled)
    if (auto err = cluster::configure(cfg.cluster, sys_cfg); !err.empty()) {
      spdlog::critical("{}: {}", cfg.file, err);
      return 1;
    }
  // Never destroyed: main ends the process with _Exit after the graceful
  // shutdown below (CAF's destructor would wait for detached actors).
  metrics::set_enabled(cfg.metrics); // before any actor counts
  auto& sys = *new caf::actor_system{sys_cfg};
  sys.await_actors_before_shutdown(false);

  auto ctx = std::make_shared<server_context>();
  ctx->max_stanza_size = cfg.limits.c2s_stanza_size;
  ctx->limits = cfg.limits;
  ctx->negotiation_timeout = cfg.negotiation_timeout;
  ctx->throttle = std::make_shared<login_throttle>(
    cfg.auth_fail_limit, cfg.auth_fail_window, cfg.auth_delay_max);
  ctx->sm = std::make_shared<sm::registry>(
    cfg.cluster.enabled ? cfg.cluster.node : std::string{});
  ctx->conn_limits = std::make_shared<connection_limits>(
    cfg.limits.max_connections, cfg.limits.max_connections_per_address);
  spdlog::info("accepting at most {} connections, {} per address (0: no "
               "bound)", ctx->conn_limits->max_total(),
               cfg.limits.max_connections_per_address);
  // glibc keeps the peak of a wave of connections: give it back.
  spawn_memory_trimmer(sys, ctx->conn_limits);
  auto ids = tls_identities(cfg);
  if (!ids.empty()) {
    std::string err;
    ctx->tls = tls::context_set::make(ids, cfg.tls_ciphers,
                                      cfg.tls_ciphersuites, err);
    if (!ctx->tls) {
      spdlog::critical("{}: TLS: {}", cfg.file, err);
      return 1;
    }
  }
  auto table = std::make_shared<vhost_table>();
  std::vector<caf::actor> vhost_actors;
  // The plugins' way to the router (spawn_context::router), filled in
  // once the shards run, below.
  auto plugin_router = std::make_shared<router_ref>();
  for (auto& v : cfg.vhosts) {
    auto info = start_vhost(sys, v, cfg.data_dir, plugin_router);
    (*table)[v.domain] = info;
    vhost_actors.push_back(info.actor);
    ctx->vhosts.emplace(v.domain, std::move(info));
    spdlog::info("serving {}", v.domain);
  }
  auto blocking = blocking_domains(*table);
  auto shards = std::max(2u, std::thread::hardware_concurrency());
  std::shared_ptr<const cluster::link> cluster_link;
  if (cfg.cluster.enabled) {
    cluster_link = cluster::start(sys, cfg.cluster, cfg.data_dir, table);
    if (!cluster_link)
      return 1;
  }
  ctx->router.shards
    = spawn_router(sys, shards, table, blocking, cluster_link, ctx->limits);
  plugin_router->shards = ctx->router.shards;
  if (cluster_link)
    caf::anon_send(cluster_link->node, ctx->router.shards);
  if (s2s_enabled(cfg)) {
    std::string err;
    if (!s2s::start(sys, ctx, s2s_settings(cfg),
                    {cfg.data_dir, cfg.s2s_ca_file, cfg.tls_ciphers,
                     cfg.tls_ciphersuites},
                    ids, err)) {
      spdlog::critical("{}: s2s: {}", cfg.file, err);
      return 1;
    }
  }

  // What /metrics and `ctl metrics` ask (docs/metrics.md).
  {
    metrics::sources src{ctx->router.shards, {}, ctx->s2s,
                         cluster_link ? cluster_link->node : caf::actor{}};
    for (auto& [domain, v] : ctx->vhosts)
      src.vhosts.emplace_back(domain, v.actor);
    metrics::start(sys, std::move(src));
  }

  // Before the listeners: a client that finds the port open finds the
  // control socket too.
  bool control_ok = true;
  auto control_sock = control::open_configured(cfg, control_ok);
  if (!control_ok)
    return 1;
  auto started = std::chrono::steady_clock::now();

  caf::scoped_actor self{sys};
  std::vector<caf::actor> listeners;
  int rc = 0;
  for (auto& l : cfg.listeners) {
    listener_options opts;
    opts.direct_tls = l.kind == "c2s_tls";
    opts.starttls = l.starttls == "required"
                      ? listener_options::starttls_mode::required
                    : l.starttls == "off" ? listener_options::starttls_mode::off
                                          : listener_options::starttls_mode::optional;
    opts.allow_plain_without_tls = l.allow_plain_without_tls;
    opts.sasl_channel_binding
      = l.sasl_channel_binding == "always" ? listener_options::plus_mode::always
        : l.sasl_channel_binding == "off"  ? listener_options::plus_mode::off
                                           : listener_options::plus_mode::tls12;
    opts.s2s = l.kind == "s2s";
    opts.stream_management = l.stream_management && !opts.s2s;
    caf::actor lst;
    if (l.kind == "http") { // docs/web.md
      auto web = std::make_shared<web::settings>();
      web->tls = l.tls;
      web->websocket_path = l.websocket_path;
      web->allowed_origins = l.allowed_origins;
      web->websocket_url = l.websocket_url;
      web->max_body = static_cast<std::size_t>(l.max_request_body);
      // Routes of other features (web/settings.hpp): Prometheus and the
      // health verdict of the hot actors (docs/metrics.md).
      auto metrics_routes = metrics::spawn_http_routes(sys);
      web->routes.push_back({"GET", "/metrics", metrics_routes});
      web->routes.push_back({"GET", "/health", metrics_routes});
      lst = spawn_http_listener(sys, ctx, opts, std::move(web));
    } else {
      lst = l.kind == "component" // XEP-0114 (actors/component)
              ? spawn_component_listener(sys, ctx)
              : spawn_c2s_listener(sys, ctx, opts);
    }
    listeners.push_back(lst);
    self->request(lst, std::chrono::seconds(10), open_atom::value, l.address,
                  l.port)
      .receive([](uint16_t) {},
               [&](caf::error& err) {
                 spdlog::critical("{}: listen: cannot listen on {}:{}: {} "
                                  "(expected a free port)",
                                  l.where, l.address, l.port,
                                  sys.render(err));
                 rc = 1;
               });
    if (rc != 0)
      break;
  }
  running_server running{sys, cfg, ctx, plugin_router, vhost_actors};
  running.set_listeners(listeners);
  if (rc == 0) {
    if (control_sock) {
      control::server_view view;
      view.sys = &sys;
      view.ctx = ctx;
      view.listeners = listeners;
      view.config_file = cfg.file;
      view.started = started;
      for (auto& l : cfg.listeners)
        view.listener_kinds.push_back(l.kind);
      view.current = [&running] { return running.context(); };
      view.reload = [&running] {
        auto res = reload_notified(running);
        return control::response{res.ok, res.text};
      };
      control::serve(*control_sock, std::move(view));
    }
    spdlog::info("djabberd-actors {} started", DJA_VERSION);
    sd_notify(0, "READY=1"); // systemd Type=notify: the listeners are open
    auto sig = wait_for_signal(running);
    spdlog::info("signal {}: shutting down", sig);
    sd_notify(0, "STOPPING=1");
  }
  control_sock.reset(); // no command during the stop; the file goes
  // Graceful shutdown: every open stream gets <system-shutdown/>.
  if (ctx->s2s)
    self->send(ctx->s2s, shutdown_atom::value);
  for (auto& lst : listeners)
    self->request(lst, std::chrono::seconds(5), shutdown_atom::value)
      .receive([](size_t) {}, [](caf::error&) {});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (auto& lst : listeners) {
    for (;;) {
      size_t open = 0;
      self->request(lst, std::chrono::seconds(1), count_atom::value)
        .receive([&](size_t n) { open = n; }, [](caf::error&) {});
      if (open == 0 || std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    self->send_exit(lst, caf::exit_reason::user_shutdown);
  }
  // XEP-0198: sessions waiting for a resumption end now; what they hold
  // goes to offline storage or bounces within the drain below.
  if (ctx->sm)
    for (auto& s : ctx->sm->sessions())
      self->send(s, shutdown_atom::value);
  vhost_actors = running.vhost_actors(); // also those of reloads
  drain_pipeline(self, ctx->router.shards, vhost_actors,
                 cfg.shutdown_timeout);
  // Each vhost answers once its plugins are down, after they wrote what
  // they had queued (the archive's last batch: plugins/mam/serve.cpp).
  for (auto& v : vhost_actors)
    self->request(v, cfg.shutdown_timeout, shutdown_atom::value)
      .receive([](bool) {},
               [&](caf::error& err) {
                 spdlog::error("shutdown: plugins still running after {} s "
                               "({}): what they queued is lost",
                               cfg.shutdown_timeout.count(),
                               caf::to_string(err));
               });
  for (auto& s : ctx->router.shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  spdlog::info("stopped");
  return rc;
}

} // namespace dja
