#include "vhost/vhost.hpp"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"

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

struct vhost_state {
  static inline const char* name = "vhost";

  caf::stateful_actor<vhost_state>* self = nullptr;
  std::string domain;
  std::vector<plugin_slot> plugins;
  /// hook name -> plugin indexes in config order.
  std::unordered_map<std::string, std::vector<size_t>> chains;
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

  const std::vector<size_t>* chain(const std::string& hook) const {
    auto i = chains.find(hook);
    return i == chains.end() ? nullptr : &i->second;
  }

  void start(caf::actor_system& sys, std::vector<plugin_instance> specs) {
    for (auto& spec : specs) {
      auto idx = plugins.size();
      for (auto& h : spec.manifest.hooks)
        chains[h].push_back(idx);
      for (auto& key : spec.manifest.iqs)
        iq_chains[key].push_back(idx);
      plugin_slot slot{std::move(spec), {}, 0};
      slot.handle = slot.spec.spawn(sys, caf::actor_cast<caf::actor>(self));
      self->monitor(slot.handle);
      plugins.push_back(std::move(slot));
    }
    for (auto& [hook, idxs] : chains) {
      std::string order;
      for (auto i : idxs)
        order += (order.empty() ? "" : " -> ") + plugins[i].spec.name;
      spdlog::debug("vhost {}: hook {}: {}", domain, hook, order);
    }
    for (auto& [key, idxs] : iq_chains) {
      std::string order;
      for (auto i : idxs)
        order += (order.empty() ? "" : " -> ") + plugins[i].spec.name;
      spdlog::debug("vhost {}: iq {}: {}", domain, key, order);
    }
  }

  /// A plugin actor died: restart it and fail its requests in flight.
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
      if (++p.restarts <= quick_restarts) {
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
      return;
    }
  }

  void restart(size_t idx) {
    auto& p = plugins[idx];
    if (p.handle)
      return;
    p.handle = p.spec.spawn(self->system(), caf::actor_cast<caf::actor>(self));
    self->monitor(p.handle);
  }

  /// One request to one plugin; `k` runs exactly once.
  template <class Req>
  void call(size_t idx, Req req,
            std::function<void(expected<typename Req::answer_type>)> k) {
    using answer_t = typename Req::answer_type;
    auto& p = plugins[idx];
    if (!p.handle) { // waiting to be restarted: fail closed
      k(caf::make_error(caf::sec::request_receiver_down));
      return;
    }
    auto token = ++next_token;
    inflight.emplace(token,
                     pending{idx, Req::name, [k](error e) { k(std::move(e)); }});
    self->request(p.handle, p.spec.timeout, std::move(req))
      .then(
        [this, token, k](answer_t& a) {
          if (inflight.erase(token) > 0)
            k(std::move(a));
        },
        [this, token, k, idx](error& e) {
          if (inflight.erase(token) == 0)
            return;
          auto& p = plugins[idx];
          if (e == caf::sec::request_timeout)
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

  /// A `first` hook answered with its value, or `fallback` when every
  /// plugin declined (or an error when `declined_is_error`).
  template <class Req, class T = decltype(typename Req::answer_type{}.value)>
  caf::response_promise first_or(Req req, T fallback,
                                 bool declined_is_error = false) {
    auto rp = self->make_response_promise();
    first(chain(req.name), 0, std::move(req),
          [rp, fallback, declined_is_error](
            expected<typename Req::answer_type> r) mutable {
            if (!r)
              rp.deliver(r.error());
            else if (!r->declined)
              rp.deliver(std::move(r->value));
            else if (declined_is_error)
              rp.deliver(caf::make_error(caf::sec::unexpected_message,
                                         "no plugin serves " + std::string{Req::name}));
            else
              rp.deliver(std::move(fallback));
          });
    return rp;
  }

  /// A presence fold: on an error the presence goes on unchanged (a
  /// broken decorator must not make a user invisible).
  template <class Req>
  caf::response_promise alter_presence(Req req) {
    auto rp = self->make_response_promise();
    auto orig = req.stanza;
    fold(chain(req.name), 0, std::move(req),
         [rp, orig](expected<hooks::filter_verdict> r) mutable {
           rp.deliver(r ? std::move(*r) : hooks::filter_verdict{orig, {}});
         });
    return rp;
  }

  template <class Notice>
  void notify(const Notice& n) {
    if (auto c = chain(Notice::name))
      for (auto idx : *c)
        if (plugins[idx].handle)
          self->send(plugins[idx].handle, n);
  }
};

/// The reply a plugin built, addressed as RFC 6120 §8.2.3 wants.
xml::element_ptr address_reply(const xml::element& req,
                               const xml::element_ptr& reply) {
  auto out = std::make_shared<xml::element>(*reply);
  out->name = "iq";
  out->ns = "jabber:client";
  out->set_attr("id", req.attr_or("id"));
  if (auto to = req.attr("to"))
    out->set_attr("from", *to);
  else
    out->remove_attr("from");
  out->set_attr("to", req.attr_or("from"));
  auto type = out->attr("type");
  if (!type || (*type != "result" && *type != "error"))
    out->set_attr("type", "result");
  return out;
}

caf::behavior vhost_actor(caf::stateful_actor<vhost_state>* self,
                          std::string domain,
                          std::vector<plugin_instance> specs) {
  auto& st = self->state;
  st.self = self;
  st.domain = std::move(domain);
  st.start(self->system(), std::move(specs));
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.on_down(dm);
  });
  return {
    [self](hooks::auth_check_password& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false); // fail closed
    },
    [self](hooks::auth_get_scram& req)
      -> caf::result<hooks::scram_credentials> {
      // Declined by all: no such user (found = false).
      return self->state.first_or(std::move(req), hooks::scram_credentials{});
    },
    [self](hooks::auth_register& req) -> caf::result<hooks::account_result> {
      return self->state.first_or(std::move(req),
                                  hooks::account_result::not_allowed);
    },
    [self](hooks::auth_set_password& req)
      -> caf::result<hooks::account_result> {
      return self->state.first_or(std::move(req),
                                  hooks::account_result::not_allowed);
    },
    [self](hooks::auth_remove_user& req)
      -> caf::result<hooks::account_result> {
      return self->state.first_or(std::move(req),
                                  hooks::account_result::not_allowed);
    },
    [self](hooks::auth_list_users& req)
      -> caf::result<std::vector<std::string>> {
      return self->state.first_or(std::move(req), std::vector<std::string>{});
    },
    [self](hooks::offline_fetch& req)
      -> caf::result<std::vector<hooks::offline_message>> {
      return self->state.first_or(std::move(req),
                                  std::vector<hooks::offline_message>{});
    },
    [self](hooks::offline_remove& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false);
    },
    [self](hooks::roster_get& req) -> caf::result<hooks::roster> {
      return self->state.first_or(std::move(req), hooks::roster{});
    },
    [self](hooks::roster_load_item& req)
      -> caf::result<std::vector<hooks::roster_item>> {
      return self->state.first_or(std::move(req),
                                  std::vector<hooks::roster_item>{});
    },
    [self](hooks::roster_set_item& req) -> caf::result<std::string> {
      return self->state.first_or(std::move(req), std::string{}, true);
    },
    [self](hooks::roster_remove_item& req) -> caf::result<std::string> {
      return self->state.first_or(std::move(req), std::string{}, true);
    },
    [self](hooks::roster_wipe& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false);
    },
    [self](hooks::blocking_list& req)
      -> caf::result<std::vector<std::string>> {
      return self->state.first_or(std::move(req), std::vector<std::string>{});
    },
    [self](hooks::blocking_block& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false, true);
    },
    [self](hooks::blocking_unblock& req)
      -> caf::result<std::vector<std::string>> {
      return self->state.first_or(std::move(req), std::vector<std::string>{},
                                  true);
    },
    [self](hooks::blocking_check& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false);
    },
    [self](hooks::auth_user_exists& req) -> caf::result<bool> {
      return self->state.first_or(std::move(req), false);
    },
    [self](hooks::iq_request& req) -> caf::result<xml::element_ptr> {
      auto rp = self->make_response_promise<xml::element_ptr>();
      auto& st = self->state;
      auto orig = req.stanza;
      auto payload = orig->first_element();
      const std::vector<size_t>* chain = nullptr;
      if (payload != nullptr) {
        auto key = orig->attr_or("type") + " " + payload->ns;
        if (auto i = st.iq_chains.find(key); i != st.iq_chains.end())
          chain = &i->second;
      }
      st.first(chain, 0, std::move(req),
               [rp, orig](expected<hooks::answer<xml::element_ptr>> r) mutable {
                 if (!r)
                   rp.deliver(
                     errors::stanza_error(*orig, "internal-server-error"));
                 else if (r->declined || !r->value)
                   rp.deliver(
                     errors::stanza_error(*orig, "service-unavailable"));
                 else
                   rp.deliver(address_reply(*orig, r->value));
               });
      return rp;
    },
    [self](hooks::filter_stanza& req) -> caf::result<hooks::filter_verdict> {
      auto rp = self->make_response_promise<hooks::filter_verdict>();
      auto& st = self->state;
      st.fold(st.chain(req.name), 0, std::move(req),
              [rp](expected<hooks::filter_verdict> r) mutable {
                if (!r)
                  rp.deliver(hooks::filter_verdict{nullptr, "filter failed"});
                else
                  rp.deliver(std::move(*r));
              });
      return rp;
    },
    [self](hooks::deliver& req) -> caf::result<hooks::delivery_verdict> {
      auto rp = self->make_response_promise<hooks::delivery_verdict>();
      auto& st = self->state;
      st.first(st.chain(req.name), 0, std::move(req),
               [rp](expected<hooks::answer<hooks::delivery_verdict>> r) mutable {
                 if (r && !r->declined)
                   rp.deliver(std::move(r->value));
                 else
                   rp.deliver(hooks::delivery_verdict{}); // default bounce
               });
      return rp;
    },
    [self](hooks::connection_accepted& req) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      auto& st = self->state;
      st.first(st.chain(req.name), 0, std::move(req),
               [rp](expected<hooks::answer<bool>> r) mutable {
                 if (!r)
                   rp.deliver(false); // fail closed
                 else
                   rp.deliver(r->declined || r->value);
               });
      return rp;
    },
    [self](hooks::presence_check& req)
      -> caf::result<hooks::answer<std::vector<xml::element_ptr>>> {
      // The whole answer: the router must tell "declined" (its default)
      // from "handled, nothing to report". An error counts as declined.
      using answer_t = hooks::presence_check::answer_type;
      auto rp = self->make_response_promise<answer_t>();
      auto& st = self->state;
      st.first(st.chain(req.name), 0, std::move(req),
               [rp](expected<answer_t> r) mutable {
                 rp.deliver(r ? std::move(*r) : answer_t::decline());
               });
      return rp;
    },
    [self](hooks::presence_alter_available& req)
      -> caf::result<hooks::filter_verdict> {
      return self->state.alter_presence(std::move(req));
    },
    [self](hooks::presence_alter_unavailable& req)
      -> caf::result<hooks::filter_verdict> {
      return self->state.alter_presence(std::move(req));
    },
    [self](const hooks::presence_initial& n) { self->state.notify(n); },
    [self](const hooks::session_bound& n) { self->state.notify(n); },
    [self](const hooks::session_closed& n) { self->state.notify(n); },
    [self](restart_atom, size_t idx) { self->state.restart(idx); },
    [self](shutdown_atom) {
      for (auto& p : self->state.plugins) {
        if (!p.handle)
          continue;
        self->demonitor(p.handle);
        self->send_exit(p.handle, caf::exit_reason::user_shutdown);
      }
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_vhost(caf::actor_system& sys, std::string domain,
                       std::vector<plugin_instance> plugins) {
  return sys.spawn(vhost_actor, std::move(domain), std::move(plugins));
}

plugins::manifest merge_manifests(const std::vector<plugin_instance>& ps) {
  plugins::manifest all;
  auto add = [](std::vector<std::string>& to,
                const std::vector<std::string>& from) {
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
  }
  return all;
}

} // namespace dja
