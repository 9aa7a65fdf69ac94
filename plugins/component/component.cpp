// component: the domain of an external component (XEP-0114 Jabber
// Component Protocol). A service domain (hook domain.stanza): every
// stanza for the vhost's domain or a JID at it goes to the component
// connected on a `component` listener (actors/component), which proved
// the shared `secret` in its handshake (checked here, component.hpp).
// While none is connected a message or iq request is answered
// <service-unavailable/> (RFC 6120 §8.3.3.19). On a cluster the
// connected component is bound in the session directory
// (component::directory_jid), and the plugin of every other node
// forwards to its node (docs/components.md).
//
// One component per domain: a second one is refused with <conflict/>
// while the first is connected (Prosody's default, kick_new; XEP-0114 §3
// allows either), so a stray second instance cannot take the domain's
// traffic from the one serving it, and two instances do not take turns
// replacing each other.

#include <memory>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/services.hpp"
#include "common/crypto.hpp"
#include "common/messages.hpp"
#include "component/component.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

struct component_state {
  static inline const char* name = "component";
  std::string domain;
  std::string secret;
  std::shared_ptr<const router_ref> router;
  /// The component connected to this node, if any.
  caf::actor stream;
  /// Its name in the cluster's directory.
  jid bound;
  /// The cluster's node actor (cluster_node()).
  caf::actor node;
};

using component_actor = caf::stateful_actor<component_state>;

/// The cluster's node actor; null without a cluster. Looked up when
/// needed: the node starts after the vhosts and their plugins, before
/// the listeners open.
const caf::actor& cluster_node(component_actor* self) {
  auto& st = self->state;
  if (!st.node)
    st.node = self->system().registry().get<caf::actor>(
      cluster::node_atom::value);
  return st.node;
}

void bounce(component_actor* self, const hooks::domain_stanza& d) {
  auto& st = self->state;
  if (st.router == nullptr)
    return;
  if (auto r = component::bounce_of(d.stanza, d.from, d.to))
    self->send(st.router->shard_for(r->to), std::move(*r));
}

void accept(component_actor* self, const caf::actor& stream,
            const std::string& remote) {
  auto& st = self->state;
  st.stream = stream;
  self->monitor(stream);
  // The other nodes learn where it is.
  if (auto& node = cluster_node(self))
    self->send(node, msg::bind{st.bound, stream});
  spdlog::info("component {}: served by the component at {}", st.domain,
               remote);
}

caf::behavior component_plugin(component_actor* self, std::string domain,
                               std::string secret,
                               std::shared_ptr<const router_ref> router) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.secret = std::move(secret);
  st.router = std::move(router);
  st.bound = component::directory_jid(st.domain);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.stream || dm.source != st.stream.address())
      return;
    if (auto& node = cluster_node(self))
      self->send(node, msg::unbind{st.bound, st.stream});
    st.stream = nullptr;
    spdlog::info("component {}: no component connected", st.domain);
  });
  return {
    [self](component::connect_atom, const std::string& stream_id,
           const std::string& handshake,
           const std::string& remote) -> caf::result<std::string> {
      auto& st = self->state;
      auto stream = caf::actor_cast<caf::actor>(self->current_sender());
      if (!stream)
        return std::string{"internal-server-error"};
      if (!crypto::equal(component::digest(stream_id, st.secret), handshake))
        return std::string{"not-authorized"};
      if (st.stream)
        return std::string{"conflict"};
      if (!cluster_node(self)) {
        accept(self, stream, remote);
        return std::string{};
      }
      // Connected to another node? The directory knows.
      auto rp = self->make_response_promise<std::string>();
      self
        ->request(st.node, std::chrono::seconds(3),
                  cluster::holder_atom::value, st.bound.bare_str(),
                  st.bound.resource())
        .then(
          [self, rp, stream, remote](const std::string& holder) mutable {
            if (!holder.empty() || self->state.stream) {
              spdlog::info("component {}: refused, connected on node {}",
                           self->state.domain,
                           holder.empty() ? "(this one)" : holder);
              rp.deliver(std::string{"conflict"});
              return;
            }
            accept(self, stream, remote);
            rp.deliver(std::string{});
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](const hooks::domain_stanza& d) {
      auto& st = self->state;
      if (st.stream) {
        self->send(st.stream, msg::deliver_local{d.stanza});
        return;
      }
      if (!cluster_node(self)) {
        bounce(self, d);
        return;
      }
      // Its node, if another one holds it (an acknowledged hop).
      self
        ->request(st.node, caf::infinite,
                  cluster::forward{{}, cluster::deliver_mode::full, d.stanza,
                                   st.bound})
        .then(
          [self, d](bool taken) {
            if (!taken)
              bounce(self, d);
          },
          [self, d](caf::error&) { bounce(self, d); });
    },
  };
}

} // namespace

DJA_PLUGIN(component) {
  return {
    "component",
    "XEP-0114: the domain of an external component (docs/components.md)",
    {{"secret", option_type::string, true,
      "the secret the component proves in its <handshake/> (XEP-0114 §3)",
      [](const toml::node& v) -> std::string {
        auto s = v.value<std::string>();
        return s && !s->empty() ? "" : "a non-empty string";
      }}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::domain_stanza>}, {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      auto a = ctx.sys.spawn(component_plugin, ctx.domain,
                             ctx.options["secret"].value_or(std::string{}),
                             ctx.router);
      component::set_plugin(ctx.vhost_actor, a); // the streams find it
      return a;
    },
  };
}

} // namespace dja::plugins
