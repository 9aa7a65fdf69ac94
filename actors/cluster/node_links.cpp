// The node actor's links: dialing the configured peers with backoff, the
// hello exchange (snapshots of each other's sessions), updates, node loss
// and the status report.

#include <algorithm>
#include <chrono>
#include <ctime>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/node_state.hpp"
#include "cluster/wire_xml.hpp"
#include "hooks/catalogue.hpp"

namespace dja::cluster {

namespace {

constexpr auto dial_timeout = std::chrono::seconds(10);
constexpr auto first_backoff = std::chrono::milliseconds(250);
constexpr auto stats_timeout = std::chrono::seconds(3);
/// How long the node with the higher address lets the other one dial.
constexpr auto yield_delay = std::chrono::milliseconds(1500);

entry from_wire(const std::string& node, const wire_entry& w) {
  entry e;
  e.node = node;
  e.resource = w.resource;
  e.stamp = w.stamp;
  e.available = w.available;
  e.priority = w.priority;
  if (w.available && !w.presence.empty())
    e.presence = wire_xml::parse(w.presence);
  return e;
}

std::string now_text() {
  auto t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

} // namespace

void node_state::start() {
  for (auto& p : opts.peers) {
    dial d;
    d.addr = p;
    dials.push_back(std::move(d));
  }
  // Two nodes dialling each other at once make two BASP connections;
  // CAF 0.17 closes the redundant one and may take the pair's route down
  // with it (a spurious node loss). So of each pair the node with the
  // lower address dials at once; the other waits and usually finds the
  // link up already.
  for (size_t i = 0; i < dials.size(); ++i)
    if (dials_first(dials[i]))
      dial_peer(i);
    else
      self->delayed_send(self, yield_delay, retry_atom::value, i);
}

hello node_state::make_hello() const {
  return hello{opts.name, incarnation, caf::actor_cast<caf::actor>(self),
               opts.listen.str(), snapshot()};
}

bool node_state::dials_first(const dial& d) const {
  return opts.listen.str() < d.addr.str();
}

void node_state::dial_peer(size_t i) {
  if (i >= dials.size() || dials[i].state == dial::connecting
      || dials[i].state == dial::up)
    return;
  // Linked already because that node dialled us: one connection per pair.
  for (auto& [name, p] : peers)
    if (p.address == dials[i].addr.str()) {
      dials[i].state = dial::up;
      dials[i].name = name;
      return;
    }
  dials[i].state = dial::connecting;
  auto addr = dials[i].addr;
  // The TLS middleman connects in its own (detached) actor: the TCP
  // connect and the TLS handshake never block a scheduler worker.
  self->request(mm, dial_timeout, caf::connect_atom::value, addr.host,
                addr.port)
    .then(
      [this, i](caf::node_id&, caf::strong_actor_ptr& ptr,
                std::set<std::string>&) {
        auto remote = caf::actor_cast<caf::actor>(ptr);
        if (!remote) {
          dial_failed(i, "no node actor published there");
          return;
        }
        self->request(remote, dial_timeout, make_hello())
          .then(
            [this, i](hello& h) {
              if (!on_hello(h)) {
                dial_failed(i, "node name " + h.node + " is our own");
                return;
              }
              dials[i].state = dial::up;
              dials[i].name = h.node;
              dials[i].backoff = std::chrono::milliseconds{0};
              dials[i].last_error.clear();
            },
            [this, i](caf::error& err) {
              dial_failed(i, "hello refused: " + self->system().render(err));
            });
      },
      [this, i](caf::error& err) {
        dial_failed(i, self->system().render(err));
      });
}

void node_state::dial_failed(size_t i, const std::string& why) {
  auto& d = dials[i];
  if (d.last_error != why)
    spdlog::warn("cluster: cannot reach peer {}: {} (retrying)", d.addr.str(),
                 why);
  d.last_error = why;
  d.state = dial::waiting;
  d.backoff = d.backoff.count() == 0
                ? std::chrono::milliseconds{first_backoff}
                : std::min(d.backoff * 2, opts.max_backoff);
  auto wait = d.backoff;
  if (!dials_first(d))
    wait += yield_delay;
  self->delayed_send(self, wait, retry_atom::value, i);
}

bool node_state::on_hello(hello& h) {
  if (h.node == opts.name || !h.actor) {
    spdlog::error("cluster: refusing a node that calls itself {} (our own "
                  "name)",
                  h.node);
    return false;
  }
  auto& p = peers[h.node];
  bool fresh = p.actor != h.actor;
  if (fresh) {
    spdlog::info("cluster: node {} joined ({})", h.node,
                 caf::to_string(h.actor.node()));
    p.actor = h.actor;
    p.incarnation = h.incarnation;
    p.address = h.address;
    self->monitor(h.actor);
    lost_nodes.erase(h.node);
  }
  for (auto& d : dials)
    if (d.addr.str() == h.address && d.state != dial::connecting) {
      d.state = dial::up;
      d.name = h.node;
      d.last_error.clear();
    }
  std::vector<directory::item> snap;
  for (auto& w : h.sessions)
    snap.emplace_back(w.bare, from_wire(h.node, w));
  // Its bind may be newer than ours of the same full JID (a login during
  // a split): the older session goes.
  for (auto& w : h.sessions)
    resolve_conflict(w.bare, w.resource, w.stamp, h.node);
  auto gone = dir->replace_node(h.node, std::move(snap));
  sessions_lost(gone);
  return true;
}

void node_state::on_update(update& u) {
  if (peers.count(u.node) == 0)
    return; // not (or no longer) a member: its hello comes first
  auto& w = u.entry;
  switch (u.op) {
    case update::bound:
      resolve_conflict(w.bare, w.resource, w.stamp, u.node);
      dir->upsert(w.bare, from_wire(u.node, w));
      break;
    case update::presence:
      dir->set_presence(w.bare, w.resource, u.node, w.available, w.priority,
                        from_wire(u.node, w).presence);
      break;
    case update::unbound:
      dir->remove(w.bare, w.resource, u.node);
      break;
  }
}

void node_state::on_down(const caf::down_msg& m) {
  auto i = std::find_if(peers.begin(), peers.end(), [&](auto& kv) {
    return kv.second.actor.address() == m.source;
  });
  if (i == peers.end())
    return; // an older incarnation, already replaced
  auto name = i->first;
  peers.erase(i);
  ++stats.nodes_lost;
  lost_nodes[name] = now_text();
  auto gone = dir->remove_node(name);
  stats.sessions_purged += gone.size();
  spdlog::warn("cluster: lost node {} ({}): {} of its sessions removed", name,
               self->system().render(m.reason), gone.size());
  sessions_lost(gone);
  fail_in_flight(name); // after the directory forgot the node's sessions
  for (size_t k = 0; k < dials.size(); ++k)
    if (dials[k].name == name && dials[k].state == dial::up) {
      dials[k].state = dial::idle;
      dial_failed(k, "link lost");
    }
}

void node_state::sessions_lost(const std::vector<directory::item>& items) {
  for (auto& [bare_str, e] : items) {
    if (!e.available)
      continue;
    auto bare = jid::parse(bare_str);
    if (!bare)
      continue;
    auto from = bare->with_resource(e.resource);
    auto unavailable = [from](const jid& to) {
      auto p = std::make_shared<xml::element>("presence", "jabber:client");
      p->set_attr("type", "unavailable");
      p->set_attr("from", from.str());
      p->set_attr("to", to.str());
      return xml::element_ptr{p};
    };
    // Every node does this for the sessions it holds itself, so each
    // contact hears it once: its own resources here, then its contacts
    // here whose subscription says they may know (RFC 6121 §4.5.2).
    auto to_local = [this](const std::string& user, const xml::element_ptr& p) {
      auto i = local.find(user);
      if (i != local.end())
        for (auto& s : i->second)
          if (s.available)
            self->send(s.session, msg::deliver_local{p});
    };
    to_local(bare_str, unavailable(*bare));
    auto v = vhosts->find(bare->domain());
    if (v == vhosts->end())
      continue;
    self->request(v->second.actor, std::chrono::seconds(30),
                  hooks::roster_get{*bare})
      .then(
        [this, to_local, unavailable](hooks::roster& r) {
          for (auto& item : r.items)
            if (item.subscribed_from())
              to_local(item.contact.bare_str(), unavailable(item.contact));
        },
        [from](caf::error& err) {
          spdlog::error("cluster: no roster for {}: contacts not told it "
                        "is gone: {}",
                        from.str(), caf::to_string(err));
        });
  }
}

node_status node_state::own_status() const {
  node_status s;
  s.node = opts.name;
  s.state = "self";
  for (auto& [bare, es] : local)
    s.sessions += es.size();
  s.has_counters = true;
  s.forwarded = stats.forwarded;
  s.forward_failed = stats.forward_failed;
  s.received = stats.received;
  s.receive_missed = stats.receive_missed;
  s.nodes_lost = stats.nodes_lost;
  s.sessions_purged = stats.sessions_purged;
  s.conflicts = stats.conflicts;
  return s;
}

caf::typed_response_promise<status_report> node_state::status() {
  auto report = std::make_shared<status_report>();
  report->self = opts.name;
  report->nodes.push_back(own_status());
  auto counts = dir->counts();
  for (auto& [name, p] : peers) {
    node_status s;
    s.node = name;
    s.state = "up";
    s.sessions = counts[name];
    s.address = p.address;
    report->nodes.push_back(s);
  }
  for (auto& d : dials)
    if (d.state != dial::up) {
      node_status s;
      s.node = d.name.empty() ? "?" : d.name;
      s.state = d.name.empty() || lost_nodes.count(d.name) == 0 ? "connecting"
                                                                 : "down";
      s.address = d.addr.str() + (d.last_error.empty() ? "" : " ("
                                    + d.last_error + ")");
      report->nodes.push_back(s);
    }
  auto rp = self->make_response_promise<status_report>();
  auto pending = std::make_shared<size_t>(peers.size());
  if (*pending == 0) {
    rp.deliver(*report);
    return rp;
  }
  for (auto& [name, p] : peers) {
    auto done = [rp, report, pending]() mutable {
      if (--*pending == 0)
        rp.deliver(*report);
    };
    self->request(p.actor, stats_timeout, stats_atom::value)
      .then(
        [report, done, name = name](node_status& s) mutable {
          for (auto& n : report->nodes)
            if (n.node == name && n.state == "up") {
              n.has_counters = true;
              n.forwarded = s.forwarded;
              n.forward_failed = s.forward_failed;
              n.received = s.received;
              n.receive_missed = s.receive_missed;
              n.nodes_lost = s.nodes_lost;
              n.sessions_purged = s.sessions_purged;
              n.conflicts = s.conflicts;
            }
          done();
        },
        [done](caf::error&) mutable { done(); });
  }
  return rp;
}

} // namespace dja::cluster
