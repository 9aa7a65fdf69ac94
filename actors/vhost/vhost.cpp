// The vhost actor (vhost.hpp): the chain engine. `first` chains end at
// the first plugin that does not decline, folds pass a stanza along,
// notifications go to everyone; every request in flight fails exactly
// once when its plugin dies; a hook nobody serves answers at once.

#include "vhost/vhost.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "metrics/hook_series.hpp"
#include "metrics/metrics.hpp"

namespace dja {

namespace {

using caf::error;
using caf::expected;

/// One live plugin: its spec and the current actor (replaced on restart).
struct plugin_slot {
  plugin_instance spec;
  caf::actor handle; ///< null while waiting to be restarted
  unsigned restarts = 0; ///< crashes in the current window
  std::chrono::steady_clock::time_point window_start;
};

/// A plugin that keeps crashing is restarted after a growing pause
/// (while it is down, its requests fail at once, closed).
constexpr unsigned quick_restarts = 5;
constexpr auto restart_window = std::chrono::seconds(10);

using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// Hooks dispatched by a key of the request (`iq`) have `Req::key`.
template <class Req, class = void>
struct has_key : std::false_type {};

template <class Req>
struct has_key<Req, std::void_t<decltype(Req::key(std::declval<Req>()))>>
  : std::true_type {};

template <class T>
struct unwrap_expected {
  using type = T;
};

template <class T>
struct unwrap_expected<caf::expected<T>> {
  using type = T;
};

/// What the chain of `Req` ends with: a `first` chain with the answer
/// that ended it, a fold with its value; or an error.
template <class Req>
using chain_result = caf::expected<std::conditional_t<
  Req::kind == hooks::hook_kind::first, typename Req::answer_type,
  decltype(Req::answer_type::value)>>;

/// What the vhost answers the caller of `Req`: the value of its `settle`.
template <class Req>
using reply_t = typename unwrap_expected<decltype(Req::settle(
  std::declval<const Req&>(), std::declval<chain_result<Req>>()))>::type;

/// Delivers a settled value, or the error it holds.
template <class T>
void deliver_settled(caf::response_promise& rp, caf::expected<T> x) {
  if (x)
    rp.deliver(std::move(*x));
  else
    rp.deliver(std::move(x.error()));
}

template <class T>
void deliver_settled(caf::response_promise& rp, T x) {
  rp.deliver(std::move(x));
}

struct vhost_state {
  static inline const char* name = "vhost";

  caf::stateful_actor<vhost_state>* self = nullptr;
  std::string domain;
  std::vector<plugin_slot> plugins;
  /// hook id -> plugin indexes in config order.
  std::array<std::vector<size_t>, hooks::count> chains;
  /// "get NS" / "set NS" -> plugin indexes in config order.
  std::unordered_map<std::string, std::vector<size_t>> iq_chains;

  /// Requests in flight, so that a plugin dying mid-request fails them at
  /// once (and exactly once) instead of leaving them to the timeout.
  struct pending {
    size_t plugin;
    const char* hook;
    std::function<void(error)> fail;
  };
  std::unordered_map<uint64_t, pending> inflight;
  uint64_t next_token = 0;

  /// Per plugin and hook: calls, declines, errors, timeouts, latency
  /// (docs/metrics.md); this actor is their only writer.
  std::shared_ptr<metrics::vhost_series> stats;

  /// Graceful stop: after `shutdown`, the plugins not down yet; the
  /// answer goes once they all are (a plugin may write what it queued).
  bool shutting_down = false;
  size_t stopping = 0;
  caf::response_promise stopped;

  /// The chain of `req`: by its key for a hook dispatched by key (`iq`),
  /// else every plugin serving the hook.
  template <class Req>
  const std::vector<size_t>* chain(const Req& req) const {
    if constexpr (has_key<Req>::value) {
      auto i = iq_chains.find(Req::key(req));
      return i == iq_chains.end() ? nullptr : &i->second;
    } else {
      return &chains[hooks::index<Req>::value];
    }
  }

  void start(caf::actor_system& sys, std::vector<plugin_instance> specs) {
    stats = metrics::vhost_series::make(domain);
    for (auto& spec : specs) {
      auto idx = plugins.size();
      stats->plugin(idx, spec.name);
      for (auto h : spec.manifest.hooks)
        chains[h.index].push_back(idx);
      for (auto& key : spec.manifest.iqs)
        iq_chains[key].push_back(idx);
      plugin_slot slot{std::move(spec), {}, 0};
      slot.handle = slot.spec.spawn(sys, caf::actor_cast<caf::actor>(self));
      self->monitor(slot.handle);
      plugins.push_back(std::move(slot));
    }
    for (size_t h = 0; h < chains.size(); ++h) {
      if (chains[h].empty())
        continue;
      std::string order;
      for (auto i : chains[h])
        order += (order.empty() ? "" : " -> ") + plugins[i].spec.name;
      spdlog::debug("vhost {}: hook {}: {}", domain,
                    hooks::name_of({static_cast<uint8_t>(h)}), order);
    }
    for (auto& [key, idxs] : iq_chains) {
      std::string order;
      for (auto i : idxs)
        order += (order.empty() ? "" : " -> ") + plugins[i].spec.name;
      spdlog::debug("vhost {}: iq {}: {}", domain, key, order);
    }
  }

  /// A plugin actor died: restart it (unless stopping) and fail its
  /// requests in flight.
  void on_down(const caf::down_msg& dm) {
    for (size_t idx = 0; idx < plugins.size(); ++idx) {
      auto& p = plugins[idx];
      if (!p.handle || p.handle.address() != dm.source)
        continue;
      auto now = std::chrono::steady_clock::now();
      if (now - p.window_start > restart_window) {
        p.window_start = now;
        p.restarts = 0;
      }
      p.handle = nullptr;
      if (!shutting_down && metrics::on())
        stats->plugin(idx, p.spec.name).restarts.add();
      if (shutting_down) {
        // nop: stopping, not restarting
      } else if (++p.restarts <= quick_restarts) {
        spdlog::error("vhost {}: plugin {} died ({}); restarting it", domain,
                      p.spec.name, caf::to_string(dm.reason));
        restart(idx);
      } else {
        auto pause = std::chrono::seconds(
          1 << std::min(5u, p.restarts - quick_restarts));
        spdlog::critical("vhost {}: plugin {} keeps dying ({}); restarting "
                         "it in {} s, its requests fail meanwhile",
                         domain, p.spec.name, caf::to_string(dm.reason),
                         pause.count());
        self->delayed_send(self, pause, restart_atom::value, idx);
      }
      std::vector<std::pair<const char*, std::function<void(error)>>> failed;
      for (auto i = inflight.begin(); i != inflight.end();) {
        if (i->second.plugin == idx) {
          failed.emplace_back(i->second.hook, std::move(i->second.fail));
          i = inflight.erase(i);
        } else {
          ++i;
        }
      }
      for (auto& [hook, fail] : failed) {
        spdlog::error("vhost {}: plugin {} died during {}", domain,
                      p.spec.name, hook);
        fail(caf::make_error(caf::sec::request_receiver_down));
      }
      if (shutting_down && --stopping == 0) {
        stopped.deliver(true);
        self->quit();
      }
      return;
    }
  }

  void restart(size_t idx) {
    auto& p = plugins[idx];
    if (p.handle || shutting_down)
      return;
    p.handle = p.spec.spawn(self->system(), caf::actor_cast<caf::actor>(self));
    self->monitor(p.handle);
  }

  /// The series of `Req` at plugin `idx`; null when counting is off.
  template <class Req>
  metrics::hook_series* series(size_t idx) {
    if (!metrics::on())
      return nullptr;
    return &stats->hook(idx, hooks::index<Req>::value, Req::name);
  }

  /// One request to one plugin; `k` runs exactly once.
  template <class Req>
  void call(size_t idx, Req req,
            std::function<void(expected<typename Req::answer_type>)> k) {
    using answer_t = typename Req::answer_type;
    auto& p = plugins[idx];
    auto* hs = series<Req>(idx);
    if (hs != nullptr)
      hs->calls.add();
    if (!p.handle) { // waiting to be restarted: fail closed
      if (hs != nullptr)
        hs->errors.add();
      k(caf::make_error(caf::sec::request_receiver_down));
      return;
    }
    auto token = ++next_token;
    auto t0 = metrics::now();
    auto* ps = hs != nullptr ? &stats->plugin(idx, p.spec.name) : nullptr;
    if (ps != nullptr)
      ps->in_flight.add();
    // How the request ended, counted once (the answer, the error, or the
    // plugin's death that on_down() reports through `fail`).
    auto count = [hs, ps, t0](bool declined, bool failed, bool timeout) {
      if (hs == nullptr)
        return;
      ps->in_flight.add(-1);
      metrics::observe_since(hs->duration, t0);
      if (declined)
        hs->declines.add();
      if (timeout)
        hs->timeouts.add();
      else if (failed)
        hs->errors.add();
    };
    inflight.emplace(token, pending{idx, Req::name, [k, count](error e) {
                                      count(false, true, false);
                                      k(std::move(e));
                                    }});
    self->request(p.handle, p.spec.timeout, std::move(req))
      .then(
        [this, token, k, count](answer_t& a) {
          if (inflight.erase(token) > 0) {
            count(a.declined, false, false);
            k(std::move(a));
          }
        },
        [this, token, k, idx, count](error& e) {
          if (inflight.erase(token) == 0)
            return;
          auto& p = plugins[idx];
          bool timeout = e == caf::sec::request_timeout;
          count(false, true, timeout);
          if (timeout)
            spdlog::error("vhost {}: plugin {} did not answer {} within {} ms",
                          domain, p.spec.name, Req::name,
                          p.spec.timeout.count());
          else
            spdlog::error("vhost {}: plugin {} failed on {}: {}", domain,
                          p.spec.name, Req::name, caf::to_string(e));
          k(std::move(e));
        });
  }

  /// A `first` chain from position `i`: the first non-decline ends it;
  /// all declined -> a declined answer (the caller applies the default).
  template <class Req>
  void first(const std::vector<size_t>* chain, size_t i, Req req,
             std::function<void(expected<typename Req::answer_type>)> k) {
    using answer_t = typename Req::answer_type;
    if (chain == nullptr || i >= chain->size()) {
      k(answer_t::decline());
      return;
    }
    auto idx = (*chain)[i];
    call<Req>(idx, req, [this, chain, i, req, k](expected<answer_t> r) {
      if (r && r->declined)
        first(chain, i + 1, std::move(req), k);
      else
        k(std::move(r));
    });
  }

  /// A fold (`filter.stanza`, `presence.alter_*`): every plugin may alter
  /// or drop.
  template <class Req>
  void fold(const std::vector<size_t>* chain, size_t i, Req req,
            std::function<void(expected<hooks::filter_verdict>)> k) {
    if (chain == nullptr || i >= chain->size()) {
      k(hooks::filter_verdict{req.stanza, {}});
      return;
    }
    auto idx = (*chain)[i];
    using answer_t = typename Req::answer_type;
    call<Req>(
      idx, req, [this, chain, i, req, k](expected<answer_t> r) mutable {
        if (!r) {
          k(r.error());
          return;
        }
        if (!r->declined) {
          if (!r->value.stanza) {
            k(std::move(r->value));
            return;
          }
          req.stanza = std::move(r->value.stanza);
        }
        fold(chain, i + 1, std::move(req), k);
      });
  }

  /// Runs the chain of `req` and answers the caller with the hook's
  /// `settle` of how it ended (its fallback when all declined or one
  /// failed): one answer, exactly once.
  template <class Req>
  caf::response_promise run(Req req) {
    auto rp = self->make_response_promise();
    auto orig = req;
    auto done = [rp, orig](chain_result<Req> r) mutable {
      deliver_settled(rp, Req::settle(orig, std::move(r)));
    };
    auto c = chain(req); // before `req` is moved
    if constexpr (Req::kind == hooks::hook_kind::first)
      first(c, 0, std::move(req), std::move(done));
    else
      fold(c, 0, std::move(req), std::move(done));
    return rp;
  }

  template <class Notice>
  void notify(const Notice& n) {
    for (auto idx : *chain(n))
      if (plugins[idx].handle) {
        if (auto* hs = series<Notice>(idx))
          hs->calls.add();
        self->send(plugins[idx].handle, n);
      }
  }
};

using vhost_actor_t = caf::stateful_actor<vhost_state>;

/// The handler of one hook: a request runs its chain, a notification
/// goes to every plugin serving it.
template <class Hook>
auto handler(vhost_actor_t* self) {
  if constexpr (Hook::kind == hooks::hook_kind::notify)
    return [self](const Hook& n) { self->state.notify(n); };
  else
    return [self](Hook& req) -> caf::result<reply_t<Hook>> {
      return self->state.run(std::move(req));
    };
}

/// One handler per hook of the catalogue, then `more`.
template <class... Hooks, class... Ts>
caf::behavior hook_handlers(vhost_actor_t* self, hooks::list<Hooks...>,
                            Ts... more) {
  return {handler<Hooks>(self)..., std::move(more)...};
}

caf::behavior vhost_actor(vhost_actor_t* self,
                          std::string domain,
                          std::vector<plugin_instance> specs) {
  auto& st = self->state;
  st.self = self;
  st.domain = std::move(domain);
  st.start(self->system(), std::move(specs));
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.on_down(dm);
  });
  return hook_handlers(
    self, hooks::all{},
    [self](restart_atom, size_t idx) { self->state.restart(idx); },
    // A scrape (actors/metrics): the messages waiting behind the probe.
    [self](metrics::probe_atom) -> size_t {
      return metrics::mailbox_depth(self);
    },
    // Graceful stop: the pipeline is empty once nothing is in flight and
    // no new request started between two polls.
    [self](drain_atom) -> caf::result<uint64_t, uint64_t> {
      return {static_cast<uint64_t>(self->state.inflight.size()),
              self->state.next_token};
    },
    // Answered once every plugin is down (each may first write what it
    // has queued: plugins/mam/serve.cpp).
    [self](shutdown_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (st.shutting_down)
        return true;
      st.shutting_down = true;
      for (auto& p : st.plugins) {
        if (!p.handle)
          continue;
        ++st.stopping;
        self->send_exit(p.handle, caf::exit_reason::user_shutdown);
      }
      if (st.stopping == 0) {
        self->quit();
        return true;
      }
      st.stopped = self->make_response_promise();
      return st.stopped;
    });
}

} // namespace

caf::actor spawn_vhost(caf::actor_system& sys, std::string domain,
                       std::vector<plugin_instance> plugins) {
  return sys.spawn(vhost_actor, std::move(domain), std::move(plugins));
}

plugins::manifest merge_manifests(const std::vector<plugin_instance>& ps) {
  plugins::manifest all;
  auto add = [](auto& to, const auto& from) {
    for (auto& x : from)
      if (std::find(to.begin(), to.end(), x) == to.end())
        to.push_back(x);
  };
  for (auto& p : ps) {
    add(all.hooks, p.manifest.hooks);
    add(all.iqs, p.manifest.iqs);
    add(all.features, p.manifest.features);
    add(all.identities, p.manifest.identities);
    add(all.stream_features, p.manifest.stream_features);
    add(all.info_fields, p.manifest.info_fields);
    add(all.items, p.manifest.items);
    add(all.account_features, p.manifest.account_features);
  }
  return all;
}

} // namespace dja
