// The router shard: the routing table of its users (the resources each
// has bound, with availability and priority) and the delivery rules of
// RFC 6121 §8 for stanzas to them. Subscriptions, probes and the other
// nodes of a cluster are in the files shard.hpp lists.

#include "router/router.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/operator_messages.hpp"
#include "common/errors.hpp"
#include "metrics/cells.hpp"
#include "metrics/metrics.hpp"
#include "router/bind_error.hpp"
#include "router/shard.hpp"

namespace dja {

// --- the routing table ---

std::vector<resource_entry>* shard_state::find_user(const jid& j) {
  auto i = users.find(j.bare_str());
  return i == users.end() ? nullptr : &i->second;
}

resource_entry* shard_state::find(const jid& full) {
  if (auto rs = find_user(full))
    for (auto& e : *rs)
      if (e.resource == full.resource())
        return &e;
  return nullptr;
}

caf::actor shard_state::vhost_of(const jid& j) const {
  auto v = vhosts->find(j.domain());
  return v == vhosts->end() ? caf::actor{} : v->second.actor;
}

bool shard_state::bind(msg::bind& b, bool& replaced) {
  auto& rs = users[b.full.bare_str()];
  for (auto& e : rs) {
    if (e.resource == b.full.resource()) {
      // RFC 6120 §7.7.2.2: the newer session wins; the old one gets a
      // <conflict/> stream error.
      self->send(e.session, conflict_atom::value);
      e = resource_entry{b.full.resource(), b.session, false, 0};
      replaced = true;
      return true;
    }
  }
  auto bound = rs.size();
  for (auto& e : remote_of(b.full))
    if (e.resource != b.full.resource())
      ++bound;
  if (bound >= bounds.max_resources) {
    // Logged with the client's address by the connection.
    spdlog::debug("bind of {} refused: {} resources bound", b.full.str(),
                  bound);
    if (rs.empty())
      users.erase(b.full.bare_str());
    return false;
  }
  rs.push_back(resource_entry{b.full.resource(), b.session, false, 0});
  return true;
}

void shard_state::unbind(const msg::unbind& u) {
  auto i = users.find(u.full.bare_str());
  if (i == users.end())
    return;
  auto& rs = i->second;
  rs.erase(std::remove_if(rs.begin(), rs.end(),
                          [&](const resource_entry& e) {
                            return e.resource == u.full.resource()
                                   && e.session == u.session;
                          }),
           rs.end());
  if (rs.empty())
    users.erase(i);
}

// --- delivery ---

void shard_state::bounce(const xml::element& stanza, const jid& from,
                         std::string_view condition) {
  if (errors::is_error(stanza) || from.empty())
    return;
  auto reply = errors::stanza_error(stanza, condition);
  auto to = jid::parse(reply->attr_or("to"));
  if (!to)
    return;
  self->send(shard_of(*to), msg::route{reply, jid{}, *to});
}

void shard_state::undeliverable(msg::route& r, const char* condition) {
  auto v = vhosts->find(r.to.domain());
  if (v == vhosts->end()) {
    bounce(*r.stanza, r.from, condition);
    return;
  }
  auto stanza = r.stanza;
  auto from = r.from;
  std::string cond = condition;
  // The route's time runs until the deliver chain answered (route()).
  auto t0 = route_start;
  route_start = {};
  auto routed = [t0] {
    if (t0 != decltype(t0){})
      metrics::observe_since(metrics::local().route_duration, t0);
  };
  self->request(v->second.actor, caf::infinite, hooks::deliver{r.stanza, r.to})
    .then(
      [this, stanza, from, cond, to = r.to,
       routed](hooks::delivery_verdict& v) {
        routed();
        if (!v.taken)
          bounce(*stanza, from, v.condition.empty() ? cond : v.condition);
        else
          push_stored(stanza, to); // XEP-0357 (push.cpp)
      },
      [this, stanza, from, cond, routed](caf::error&) {
        routed();
        bounce(*stanza, from, cond);
      });
}

void shard_state::message_to_bare(msg::route& r, bool rerouted) {
  auto type = r.stanza->attr_or("type", "normal");
  if (type == "error")
    return; // nothing to do: never bounce an error
  if (type == "groupchat") {
    bounce(*r.stanza, r.from, "service-unavailable"); // §8.5.2.1.1
    return;
  }
  std::vector<caf::actor> targets;
  std::vector<std::string> got; // their resources (XEP-0280 §7)
  auto remote = remote_of(r.to);
  int best = -129;
  for (auto& e : remote)
    if (e.available && e.priority >= 0)
      best = std::max(best, e.priority);
  if (auto rs = find_user(r.to)) {
    for (auto& e : *rs)
      if (e.available && e.priority >= 0)
        best = std::max(best, e.priority);
    for (auto& e : *rs)
      if (e.available && e.priority >= 0
          && (type == "headline" || e.priority == best)) {
        targets.push_back(e.session);
        got.push_back(e.resource);
      }
  }
  for (auto& t : targets)
    self->send(t, msg::deliver_local{r.stanza});
  for (auto& e : remote)
    if (e.available && e.priority == best && best >= 0)
      got.push_back(e.resource);
  if (!rerouted)
    received_copies(r, std::move(got));
  if (remote_to_bare(r, remote, best, type, !targets.empty(), rerouted)
      || !targets.empty())
    return;
  if (type == "headline")
    return; // §8.5.2.2.1: silently ignored
  undeliverable(r, "service-unavailable");
}

bool shard_state::to_available(const jid& user,
                               const xml::element_ptr& stanza) {
  bool any = false;
  if (cluster)
    remote_fanout(user, cluster::deliver_mode::available_nonneg, stanza);
  if (auto rs = find_user(user))
    for (auto& e : *rs)
      if (e.available && e.priority >= 0) {
        self->send(e.session, msg::deliver_local{stanza});
        any = true;
      }
  return any;
}

void shard_state::push(const jid& user, const xml::element_ptr& iq) {
  if (cluster)
    remote_fanout(user, cluster::deliver_mode::push, iq);
  if (auto rs = find_user(user))
    for (auto& e : *rs)
      self->send(e.session, msg::roster_push{iq});
}

void shard_state::route(msg::route& r) {
  if (r.stanza->name == "presence" && !r.to.local().empty()
      && !subscription::parse_kind(r.stanza->attr_or("type")))
    if (auto i = sub_queue.find(r.to.bare_str()); i != sub_queue.end()) {
      i->second.push_back(queued{queued::presence, r});
      return;
    }
  auto t0 = metrics::now();
  route_start = t0;
  route_now(r);
  // undeliverable() takes route_start when the deliver chain has it.
  bool handed_on = route_start == decltype(t0){};
  route_start = {};
  if (!handed_on)
    metrics::observe_since(metrics::local().route_duration, t0);
}

void shard_state::route_now(msg::route& r) {
  archive(r); // XEP-0313 (archive.cpp)
  if (auto v = find_service(*vhosts, r.to.domain())) {
    // A MUC service, a component: it takes everything for its domain.
    self->send(v->actor, hooks::domain_stanza{r.stanza, r.from, r.to});
    return;
  }
  if (r.stanza->name == "presence" && r.stanza->attr_or("type") == "probe"
      && check_presence(r))
    return;
  if (vhosts->count(r.to.domain()) == 0) {
    if (s2s) { // the s2s stage: it bounces what it cannot deliver
      self->send(s2s, std::move(r));
      return;
    }
    bounce(*r.stanza, r.from, "remote-server-not-found");
    return;
  }
  untrust_carbons(r); // XEP-0280 §11
  const auto& kind = r.stanza->name;
  if (kind == "presence" && !r.to.local().empty()) {
    auto type = r.stanza->attr_or("type");
    if (subscription::parse_kind(type)) {
      enqueue(r.to.bare_str(), queued{queued::inbound, r});
      return;
    }
    if (type == "probe") {
      unless_blocked(r, [] {}, [this, r]() mutable { inbound_probe(r); });
      return;
    }
  }
  if (r.to.is_full()) {
    if (auto e = find(r.to)) {
      self->send(e->session, msg::deliver_local{r.stanza});
      received_copies(r, e->resource);
      presence_received(r); // presence_in.cpp
      return;
    }
    if (remote_full(r))
      return;
    // RFC 6121 §8.5.3.2: no resource matches.
    if (kind == "message") {
      auto type = r.stanza->attr_or("type", "normal");
      if (type == "groupchat")
        bounce(*r.stanza, r.from, "service-unavailable");
      else if (type != "error")
        message_to_bare(r);
    } else if (kind == "iq") {
      auto type = r.stanza->attr_or("type");
      if (type == "get" || type == "set")
        bounce(*r.stanza, r.from, "service-unavailable");
    } // presence: silently dropped (§8.5.3.2.3)
    return;
  }
  if (kind == "message") {
    message_to_bare(r);
  } else if (kind == "presence") {
    if (cluster)
      remote_fanout(r.to, cluster::deliver_mode::available, r.stanza);
    if (auto rs = find_user(r.to)) {
      for (auto& e : *rs)
        if (e.available)
          self->send(e.session, msg::deliver_local{r.stanza});
      presence_received(r); // presence_in.cpp
    }
  } else if (kind == "iq") {
    // Sessions hand bare-JID iqs to the vhost; one reaching us is
    // unanswerable here.
    auto type = r.stanza->attr_or("type");
    if (type == "get" || type == "set")
      bounce(*r.stanza, r.from, "service-unavailable");
    else // answers to requests plugins sent (pep's caps, push)
      answer_to_server(r); // push.cpp
  }
}

// --- the shard actor ---

namespace {

caf::behavior shard_actor(caf::stateful_actor<shard_state>* self,
                          std::shared_ptr<const vhost_table> vhosts,
                          std::shared_ptr<const domain_set> blocking,
                          std::shared_ptr<const cluster::link> cluster,
                          dja::limits bounds) {
  auto& st = self->state;
  st.self = self;
  st.vhosts = std::move(vhosts);
  st.blocking = std::move(blocking);
  st.cluster = std::move(cluster);
  st.bounds = bounds;
  // The node actor mirrors this node's sessions to the other nodes.
  auto notify = [self](auto m) {
    if (self->state.cluster)
      self->send(self->state.cluster->node, std::move(m));
  };
  return {
    [self](std::vector<caf::actor>& shards) {
      self->state.router.shards = std::move(shards);
    },
    [self](s2s_route_atom, caf::actor& s2s) {
      self->state.s2s = std::move(s2s);
    },
    [self, notify](msg::bind& b) -> caf::result<bool> {
      bool replaced = false;
      if (!self->state.bind(b, replaced)) {
        if (metrics::on())
          metrics::local().sessions_refused_total.add();
        return msg::bind_refused();
      }
      if (metrics::on()) {
        auto& c = metrics::local();
        c.sessions_bound_total.add();
        if (replaced)
          c.sessions_replaced_total.add();
      }
      notify(b);
      return replaced;
    },
    [self, notify](const msg::unbind& u) {
      self->state.unbind(u);
      notify(u);
    },
    [self, notify](const msg::presence_state& p) {
      if (auto e = self->state.find(p.full); e && e->session == p.session) {
        e->available = p.available;
        e->priority = p.priority;
        e->presence = p.available ? p.presence : nullptr;
        notify(p);
      }
    },
    [self](msg::route& r) { self->state.route(r); },
    [self](const msg::sent_copy& s) { self->state.sent_copies(s); },
    [self](const msg::unavailable_to& u) { self->state.unavailable_to(u); },
    [self](msg::outbound_subscription& o) {
      self->state.enqueue(o.user.bare_str(),
                          shard_state::queued{shard_state::queued::outbound,
                                              msg::route{o.stanza, o.user,
                                                         o.contact}});
    },
    [self](msg::blocklist_push& p) {
      if (auto rs = self->state.find_user(p.user))
        for (auto& e : *rs)
          self->send(e.session, p);
    },
    [self](const msg::presence_to& p) {
      self->state.send_presences(p.user, p.contact, false);
    },
    [self](msg::push_to_user& p) { self->state.push(p.user, p.stanza); },
    // Graceful stop: a barrier; every route queued before it has reached
    // its vhost when this answers.
    [](drain_atom) -> size_t { return 0; },
    // `ctl sessions`, `kick`, `broadcast`: every resource bound here.
    [self](list_atom) -> msg::bound_sessions {
      msg::bound_sessions out;
      for (auto& [bare, rs] : self->state.users)
        for (auto& e : rs)
          if (auto full = jid::parse(bare + "/" + e.resource))
            out.push_back({std::move(*full), e.session});
      return out;
    },
    // A reload (server/reload.hpp): vhosts added, removed or with a new
    // plugin chain; [limits] max_resources, max_pending_subscriptions.
    [self](msg::new_routing& m) {
      auto& st = self->state;
      st.retired.push_back(std::move(st.vhosts));
      st.vhosts = std::move(m.vhosts);
      st.blocking = std::move(m.blocking);
      st.bounds = m.bounds;
    },
    // `ctl status`: the users and sessions bound here.
    [self](count_atom) -> caf::result<size_t, size_t> {
      size_t n = 0;
      for (auto& [_, rs] : self->state.users)
        n += rs.size();
      return {self->state.users.size(), n};
    },
    // A scrape (actors/metrics): mailbox depth, users, sessions.
    [self](metrics::probe_atom) -> caf::result<size_t, size_t, size_t> {
      size_t n = 0;
      for (auto& [_, rs] : self->state.users)
        n += rs.size();
      return {metrics::mailbox_depth(self), self->state.users.size(), n};
    },
  };
}

} // namespace

std::vector<caf::actor>
spawn_router(caf::actor_system& sys, size_t count,
             std::shared_ptr<const vhost_table> vhosts,
             std::shared_ptr<const domain_set> blocking,
             std::shared_ptr<const cluster::link> cluster,
             const dja::limits& bounds) {
  std::vector<caf::actor> shards;
  for (size_t i = 0; i < std::max<size_t>(count, 1); ++i)
    shards.push_back(
      sys.spawn(shard_actor, vhosts, blocking, cluster, bounds));
  for (auto& s : shards)
    caf::anon_send(s, shards);
  return shards;
}

} // namespace dja
