// The node actor: behavior, and the sessions of this node as the other
// nodes learn about them.

#include "cluster/node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <spdlog/spdlog.h>

#include "cluster/node_state.hpp"
#include "cluster/services.hpp"
#include "cluster/wire_xml.hpp"
#include "metrics/metrics.hpp"

namespace dja::cluster {

namespace {

uint64_t now_us() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count());
}

} // namespace

local_entry* node_state::find_local(const jid& full) {
  auto i = local.find(full.bare_str());
  if (i == local.end())
    return nullptr;
  for (auto& e : i->second)
    if (e.resource == full.resource())
      return &e;
  return nullptr;
}

wire_entry node_state::to_wire(const std::string& bare,
                               const local_entry& e) const {
  wire_entry w;
  w.bare = bare;
  w.resource = e.resource;
  w.stamp = e.stamp;
  w.available = e.available;
  w.priority = e.priority;
  if (e.available && e.presence)
    w.presence = wire_xml::serialize(*e.presence);
  return w;
}

void node_state::broadcast(update::op_t op, const std::string& bare,
                           const local_entry& e) {
  if (peers.empty())
    return;
  update u;
  u.node = opts.name;
  u.op = op;
  u.entry = to_wire(bare, e);
  for (auto& [name, p] : peers)
    self->send(p.actor, u);
}

void node_state::on_bind(const msg::bind& b) {
  auto bare = b.full.bare_str();
  local_entry e;
  e.resource = b.full.resource();
  e.session = b.session;
  // Later than any bind of this full JID we know of, even with clocks
  // that disagree: a new login replaces the old one everywhere.
  e.stamp = std::max(now_us(), dir->max_stamp(bare, e.resource) + 1);
  auto& es = local[bare];
  auto i = std::find_if(es.begin(), es.end(), [&](const local_entry& x) {
    return x.resource == e.resource;
  });
  if (i != es.end())
    *i = e; // the router replaced the older local session already
  else
    es.push_back(e);
  broadcast(update::bound, bare, e);
}

void node_state::on_unbind(const msg::unbind& u) {
  auto bare = u.full.bare_str();
  auto i = local.find(bare);
  if (i == local.end())
    return;
  auto& es = i->second;
  auto j = std::find_if(es.begin(), es.end(), [&](const local_entry& x) {
    return x.resource == u.full.resource() && x.session == u.session;
  });
  if (j == es.end())
    return;
  auto e = std::move(*j);
  es.erase(j);
  if (es.empty())
    local.erase(i);
  broadcast(update::unbound, bare, e);
}

void node_state::on_presence(const msg::presence_state& p) {
  auto e = find_local(p.full);
  if (e == nullptr || e->session != p.session)
    return;
  e->available = p.available;
  e->priority = p.priority;
  e->presence = p.available ? p.presence : nullptr;
  broadcast(update::presence, p.full.bare_str(), *e);
}

void node_state::resolve_conflict(const std::string& bare,
                                  const std::string& resource, uint64_t stamp,
                                  const std::string& node) {
  auto i = local.find(bare);
  if (i == local.end())
    return;
  auto& es = i->second;
  auto j = std::find_if(es.begin(), es.end(), [&](const local_entry& x) {
    return x.resource == resource;
  });
  if (j == es.end() || !newer(stamp, node, j->stamp, opts.name))
    return;
  auto full = jid::parse(bare + "/" + resource);
  spdlog::info("cluster: {} bound again on node {}: replacing the session "
               "here",
               bare + "/" + resource, node);
  ++stats.conflicts;
  // The session closes with <conflict/> and does not unbind itself.
  self->send(j->session, conflict_atom::value);
  if (full && !router.shards.empty())
    self->send(router.shard_for(*full), msg::unbind{*full, j->session});
  auto e = std::move(*j);
  es.erase(j);
  if (es.empty())
    local.erase(i);
  broadcast(update::unbound, bare, e);
}

std::vector<wire_entry> node_state::snapshot() const {
  std::vector<wire_entry> out;
  for (auto& [bare, es] : local)
    for (auto& e : es)
      out.push_back(to_wire(bare, e));
  return out;
}

namespace {

caf::behavior node_actor(caf::stateful_actor<node_state>* self,
                         node_options opts, std::shared_ptr<directory> dir,
                         std::shared_ptr<const vhost_table> vhosts) {
  auto& st = self->state;
  st.self = self;
  st.opts = std::move(opts);
  st.dir = std::move(dir);
  st.vhosts = std::move(vhosts);
  st.incarnation = std::random_device{}() ^ now_us();
  st.mm = self->system().openssl_manager().actor_handle();
  self->set_down_handler([self](caf::down_msg& m) { self->state.on_down(m); });
  st.start();
  if (!st.opts.status_file.empty()) {
    // A small detached actor writes the file: no disk I/O on a worker.
    auto path = st.opts.status_file;
    st.status_writer = self->system().spawn<caf::detached>(
      [path](caf::event_based_actor*) -> caf::behavior {
        return {
          [path](const status_report& r) {
            auto tmp = path + ".tmp";
            if (auto f = std::fopen(tmp.c_str(), "w")) {
              auto text = format_status(r);
              std::fwrite(text.data(), 1, text.size(), f);
              std::fclose(f);
              std::rename(tmp.c_str(), path.c_str());
            }
          },
        };
      });
    self->link_to(st.status_writer);
    self->send(self, status_atom::value, true);
  }
  return {
    [self](std::vector<caf::actor>& shards) {
      self->state.router.shards = std::move(shards);
    },
    // Notifications of the router shards about this node's sessions.
    [self](const msg::bind& b) { self->state.on_bind(b); },
    [self](const msg::unbind& u) { self->state.on_unbind(u); },
    [self](const msg::presence_state& p) { self->state.on_presence(p); },
    [self](forward& f) { return self->state.forward_out(f); },
    [self](holder_atom, const std::string& bare,
           const std::string& resource) -> std::string {
      auto e = self->state.dir->find_full(bare, resource);
      return e ? e->node : std::string{};
    },
    [self](placement_atom, const std::string& bare,
           const std::string& resource) -> std::vector<std::string> {
      auto& st = self->state;
      std::vector<std::string> out;
      std::string holder;
      if (!bare.empty())
        if (auto e = st.dir->find_full(bare, resource))
          holder = e->node;
      out.push_back(std::move(holder));
      out.push_back(st.opts.name);
      for (auto& [name, p] : st.peers)
        out.push_back(name);
      return out;
    },
    // From other nodes.
    [self](hello& h) -> caf::result<hello> {
      if (!self->state.on_hello(h))
        return caf::make_error(caf::sec::request_receiver_down,
                               "node name already in use");
      return self->state.make_hello();
    },
    [self](update& u) { self->state.on_update(u); },
    [self](const remote_stanza& s) { return self->state.deliver_in(s); },
    [self](retry_atom, size_t i) { self->state.dial_peer(i); },
    [self](stats_atom) { return self->state.own_status(); },
    // A scrape (actors/metrics): mailbox depth, nodes linked.
    [self](metrics::probe_atom) -> caf::result<size_t, size_t> {
      return {metrics::mailbox_depth(self), self->state.peers.size()};
    },
    [self](status_atom) { return self->state.status(); },
    [self](status_atom, bool) {
      // Every second: refresh the status file.
      auto writer = self->state.status_writer;
      self->request(caf::actor_cast<caf::actor>(self), std::chrono::seconds(5),
                    status_atom::value)
        .then([self, writer](status_report& r) { self->send(writer, r); },
              [](caf::error&) {});
      self->delayed_send(self, std::chrono::seconds(1), status_atom::value,
                         true);
    },
  };
}

} // namespace

caf::actor spawn_node(caf::actor_system& sys, node_options opts,
                      std::shared_ptr<directory> dir,
                      std::shared_ptr<const vhost_table> vhosts) {
  return sys.spawn(node_actor, std::move(opts), std::move(dir),
                   std::move(vhosts));
}

} // namespace dja::cluster
