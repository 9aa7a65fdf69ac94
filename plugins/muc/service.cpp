// The MUC service actor (serve.hpp): takes every stanza of the service
// domain (`domain.stanza`), answers the service's own iqs (XEP-0030
// disco#info, disco#items of the public rooms with XEP-0059 paging,
// XEP-0199 ping), and hands the rest to the room's actor: a map room ->
// actor, a room woken from the store or created (XEP-0045 §10.1) when
// none runs, and stopped again (hibernation) once it is empty and has
// handled everything forwarded to it. It also writes the rooms' stored
// form; with SQLite or PostgreSQL it is detached (the store blocks), the
// rooms never are.

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/services.hpp"
#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/muc/serve.hpp"

namespace dja::plugins::muc {

namespace {

constexpr const char* ns_rsm = "http://jabber.org/protocol/rsm";

/// The resource under which a node claims a room it runs in the
/// cluster's directory (room@service/muc-home).
constexpr const char* home_resource = "muc-home";

using tick_atom = caf::atom_constant<caf::atom("muc_tick")>;

/// The options of the service (make_type).
struct service_options {
  bool lock_new_rooms = true;
  uint32_t archive_size = 100;
  uint32_t archive_save_ms = 2000;
  room_config defaults;
  std::shared_ptr<const std::vector<std::string>> admins;
  /// Rooms an account may have created that still exist (0: no bound).
  uint32_t max_rooms_per_user = 50;
  /// Rooms an account may be in at once (room_state::joined).
  std::shared_ptr<occupancy> joined;
};

struct service_state {
  std::string tag;
  jid domain;
  std::shared_ptr<docs::store> db;
  std::shared_ptr<const router_ref> router;
  service_options opts;
  struct entry {
    caf::actor room;
    uint64_t forwarded = 0;
  };
  std::unordered_map<std::string, entry> rooms;
  std::map<std::string, listing> directory; ///< by room name
  /// Who created each room that exists (persistent ones: from the
  /// directory), and how many rooms each account created.
  std::unordered_map<std::string, std::string> creator;
  std::unordered_map<std::string, uint32_t> created;

  // -- on a cluster (docs/cluster.md "Group chat") --------------------------
  caf::actor node; ///< the cluster's node actor, null without a cluster
  /// This node's name, learnt from the node actor; the service is bound
  /// in the directory as service/<name> so that others forward to it.
  std::string self_name;
  /// Stanzas for a room not running here, waiting for the node actor to
  /// say where it runs (one request per room at a time keeps the order).
  std::unordered_map<std::string, std::vector<hooks::domain_stanza>> pending;
  /// Rooms running on another node that this node's users joined: the
  /// node, and real full JID -> nick. When that node is lost they get
  /// status 332 from here.
  struct remote_room {
    std::string home;
    std::unordered_map<std::string, std::string> occupants;
  };
  std::unordered_map<std::string, remote_room> remote;
  std::chrono::steady_clock::time_point directory_read;
  static inline const char* name = "muc.service";
};

using service_actor = caf::stateful_actor<service_state>;

std::string random_salt() {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += std::to_string(rd());
  return s;
}

void reply(service_actor* self, xml::element_ptr s, const jid& to) {
  route(self->state.router.get(), s, self->state.domain, to);
}

void error(service_actor* self, const hooks::domain_stanza& d,
           const char* cond) {
  if (!errors::is_error(*d.stanza))
    route(self->state.router.get(), errors::stanza_error(*d.stanza, cond),
          d.to, d.from);
}

/// Counts the rooms per creator again from `creator`.
void recount(service_state& st) {
  st.created.clear();
  for (auto& [room, who] : st.creator)
    ++st.created[who];
}

/// The room `name` is gone (destroyed, or temporary and empty): its
/// creator may create another.
void release(service_state& st, const std::string& name) {
  auto i = st.creator.find(name);
  if (i == st.creator.end())
    return;
  auto c = st.created.find(i->second);
  if (c != st.created.end() && --c->second == 0)
    st.created.erase(c);
  st.creator.erase(i);
}

/// The directory from the store (user "": key = room, value = "P|title"
/// with P = 1 for a public room, or "Pc|creator|title").
void load_directory(service_actor* self) {
  auto& st = self->state;
  auto keys = st.db->sizes("");
  if (!keys) {
    spdlog::error("{}: {}: cannot read the rooms: {}", st.tag,
                  st.domain.str(), caf::to_string(keys.error()));
    return;
  }
  for (auto& [room, size] : *keys) {
    auto d = st.db->get("", room);
    if (!d || !d->found || d->value.size() < 2)
      continue;
    auto& v = d->value;
    std::string title = v.substr(2);
    if (v[1] == 'c') { // "Pc|creator|title"
      auto bar = v.find('|', 3);
      if (bar == std::string::npos)
        continue;
      st.creator[room] = v.substr(3, bar - 3);
      title = v.substr(bar + 1);
    }
    st.directory[room] = listing{true, v[0] == '1', std::move(title)};
  }
  recount(st);
}

/// XEP-0030 disco#items with XEP-0059 paging (<max/>, <after/>,
/// <before/>): the public rooms by name.
void disco_items(service_actor* self, const hooks::domain_stanza& d,
                 const xml::element& q) {
  auto& st = self->state;
  if (st.node) {
    // On a cluster other nodes create and save rooms too: the stored
    // directory is read again (at most every 2 s).
    auto now = std::chrono::steady_clock::now();
    if (now - st.directory_read > std::chrono::seconds(2)) {
      st.directory_read = now;
      for (auto i = st.directory.begin(); i != st.directory.end();)
        i = i->second.persistent ? st.directory.erase(i) : std::next(i);
      load_directory(self);
    }
  }
  std::vector<const std::pair<const std::string, listing>*> rooms;
  for (auto& e : self->state.directory)
    if (e.second.is_public)
      rooms.push_back(&e);
  size_t lo = 0;
  size_t hi = rooms.size();
  size_t max = hi;
  bool backward = false;
  auto set = q.child("set", ns_rsm);
  if (set) {
    if (auto m = set->child("max", ns_rsm))
      max = std::strtoul(m->text().c_str(), nullptr, 10);
    auto by_name = [&](const std::string& n) {
      return std::lower_bound(rooms.begin(), rooms.end(), n,
                              [](auto* e, const std::string& k) {
                                return e->first < k;
                              })
             - rooms.begin();
    };
    if (auto a = set->child("after", ns_rsm))
      lo = std::min(hi, static_cast<size_t>(by_name(a->text())) + 1);
    if (auto b = set->child("before", ns_rsm)) {
      backward = true;
      if (!b->text().empty())
        hi = static_cast<size_t>(by_name(b->text()));
    }
  }
  lo = std::min(lo, hi);
  size_t n = std::min(max, hi - lo);
  size_t first = backward ? hi - n : lo;
  auto out = std::make_shared<xml::element>(errors::iq_result(*d.stanza));
  auto& items = out->add_child(xml::element{"query", ns::disco_items});
  for (size_t i = first; i < first + n; ++i) {
    auto& it = items.add_child(xml::element{"item", ns::disco_items});
    auto room = jid::make(rooms[i]->first, self->state.domain.domain());
    it.set_attr("jid", room ? room->str() : rooms[i]->first);
    it.set_attr("name", rooms[i]->second.title.empty()
                          ? rooms[i]->first
                          : rooms[i]->second.title);
  }
  if (set) {
    auto& rs = items.add_child(xml::element{"set", ns_rsm});
    if (n > 0) {
      rs.add_child(xml::element{"first", ns_rsm})
        .set_attr("index", std::to_string(first))
        .add_text(rooms[first]->first);
      rs.add_child(xml::element{"last", ns_rsm})
        .add_text(rooms[first + n - 1]->first);
    }
    rs.add_child(xml::element{"count", ns_rsm})
      .add_text(std::to_string(rooms.size()));
  }
  reply(self, out, d.from);
}

/// A stanza to the service's own JID.
void to_service(service_actor* self, const hooks::domain_stanza& d) {
  auto type = d.stanza->attr_or("type");
  if (d.stanza->name != "iq" || type == "result" || type == "error")
    return;
  auto q = d.stanza->first_element();
  if (q && q->ns == ns::disco_info && type == "get"
      && q->attr("node") == nullptr) {
    auto out = std::make_shared<xml::element>(errors::iq_result(*d.stanza));
    auto& r = out->add_child(xml::element{"query", ns::disco_info});
    auto& id = r.add_child(xml::element{"identity", ns::disco_info});
    id.set_attr("category", "conference");
    id.set_attr("type", "text");
    id.set_attr("name", "Chatrooms");
    for (auto* f : {ns_muc, ns::disco_info, ns::disco_items, ns_rsm,
                    ns::ping, "urn:xmpp:mam:2", ns_occupant_id})
      r.add_child(xml::element{"feature", ns::disco_info}).set_attr("var", f);
    return reply(self, out, d.from);
  }
  if (q && q->ns == ns::disco_items && type == "get"
      && q->attr("node") == nullptr)
    return disco_items(self, d, *q);
  if (q && q->ns == ns::ping && type == "get")
    return reply(self,
                 std::make_shared<xml::element>(
                   errors::iq_result(*d.stanza)),
                 d.from);
  error(self, d, "service-unavailable");
}

/// The room `name` woken from the store, created for a presence, or
/// null (the stanza answered).
caf::actor wake(service_actor* self, const std::string& name,
                const hooks::domain_stanza& d) {
  auto& st = self->state;
  auto room = std::make_shared<room_state>();
  room->room = d.to.bare();
  room->admins = st.opts.admins;
  room->archive_max = st.opts.archive_size;
  room->archive_save_ms = st.opts.archive_save_ms;
  room->lock_new = st.opts.lock_new_rooms;
  room->defaults = st.opts.defaults;
  room->config = st.opts.defaults;
  auto doc = st.db->get(name, "room");
  if (!doc) {
    spdlog::error("{}: {}: cannot read room {}: {}", st.tag, st.domain.str(),
                  name, caf::to_string(doc.error()));
    error(self, d, "internal-server-error");
    return {};
  }
  if (doc->found) {
    if (!from_stored(*room, doc->value)) {
      spdlog::error("{}: {}: room {} does not parse", st.tag,
                    st.domain.str(), name);
      error(self, d, "internal-server-error");
      return {};
    }
  } else {
    auto& s = *d.stanza;
    if (s.name != "presence" || s.attr("type") != nullptr) {
      // §6.4 / §7.2: no such room (and nothing is created but by a
      // presence of entry).
      if (s.name != "presence")
        error(self, d, "item-not-found");
      return {};
    }
    auto who = d.from.bare_str();
    bool admin = std::find(st.opts.admins->begin(), st.opts.admins->end(),
                           who)
                 != st.opts.admins->end();
    if (!admin && st.opts.max_rooms_per_user > 0
        && st.created[who] >= st.opts.max_rooms_per_user) {
      spdlog::info("{}: {}: {} may not create room {}: {} rooms of theirs "
                   "exist (max_rooms_per_user)",
                   st.tag, st.domain.str(), who, name, st.created[who]);
      error(self, d, "policy-violation");
      return {};
    }
    room->fresh = true;
    room->locked = st.opts.lock_new_rooms;
    room->salt = random_salt();
    st.creator[name] = who;
    ++st.created[who];
  }
  room->joined = st.opts.joined;
  auto a = spawn_room(self->system(), name, room, self, st.router);
  st.rooms[name] = service_state::entry{a, 0};
  return a;
}

void on_save(service_actor* self, const std::string& name, bool persistent,
             bool is_public, const std::string& title,
             const std::string& doc) {
  auto& st = self->state;
  caf::error err;
  if (persistent && !doc.empty()) {
    err = st.db->put(name, {{"room", doc}}, docs::unix_now());
    if (!err) {
      auto c = st.creator.find(name);
      auto v = std::string{is_public ? "1" : "0"}
               + (c == st.creator.end() ? "|" : "c|" + c->second + "|")
               + title;
      err = st.db->put("", {{name, v}}, docs::unix_now());
    }
    st.directory[name] = listing{true, is_public, title};
  } else {
    err = st.db->remove(name, "room");
    if (!err)
      err = st.db->remove("", name);
    if (doc.empty() || !persistent) {
      if (doc.empty()) {
        st.directory.erase(name);
        release(st, name); // destroyed
      }
      else
        st.directory[name] = listing{false, is_public, title};
    }
  }
  if (err)
    spdlog::error("{}: {}: cannot store room {}: {}", st.tag,
                  st.domain.str(), name, caf::to_string(err));
}

/// The cluster's node actor (null without [cluster]); it registers after
/// the vhosts start, so it is looked up until found.
const caf::actor& cluster_node(service_actor* self) {
  auto& st = self->state;
  if (!st.node)
    st.node = self->system().registry().get<caf::actor>(
      cluster::node_atom::value);
  return st.node;
}

jid claim_jid(const service_state& st, const std::string& room) {
  auto j = jid::make(room, st.domain.domain(), home_resource);
  return j ? *j : st.domain;
}

/// Rendezvous hashing: the node of `nodes` with the highest score for
/// `room` (the same on every node that sees the same nodes; a node that
/// leaves moves only its own rooms).
std::string home_of(const std::string& room,
                    std::vector<std::string>::const_iterator first,
                    std::vector<std::string>::const_iterator last) {
  auto score = [&](const std::string& node) {
    uint64_t h = 1469598103934665603ull; // FNV-1a, then splitmix64
    for (unsigned char c : node)
      h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (unsigned char c : room)
      h = (h ^ c) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
  };
  std::string best;
  uint64_t best_score = 0;
  for (auto i = first; i != last; ++i) {
    auto sc = score(*i);
    if (best.empty() || sc > best_score || (sc == best_score && *i < best)) {
      best = *i;
      best_score = sc;
    }
  }
  return best;
}

/// Learns this node's name from a placement answer and binds the
/// service as service/<name> in the directory.
void learn_self(service_actor* self, const std::vector<std::string>& v) {
  auto& st = self->state;
  if (v.size() < 2 || !st.self_name.empty() || !st.node)
    return;
  st.self_name = v[1];
  if (auto j = jid::make("", st.domain.domain(), st.self_name))
    self->send(st.node, msg::bind{*j, caf::actor_cast<caf::actor>(self)});
}

/// The room runs here: hand it the stanza, waking or creating it.
void deliver_here(service_actor* self, const hooks::domain_stanza& d) {
  auto& st = self->state;
  const auto& name = d.to.local();
  auto i = st.rooms.find(name);
  caf::actor room;
  if (i != st.rooms.end()) {
    room = i->second.room;
  } else {
    if (!(room = wake(self, name, d)))
      return;
    st.remote.erase(name);
    if (cluster_node(self) && !st.self_name.empty())
      self->send(st.node, msg::bind{claim_jid(st, name),
                                    caf::actor_cast<caf::actor>(self)});
  }
  ++st.rooms[name].forwarded;
  self->send(room, d);
}

/// Who of this node's users is in a room that runs on `home`.
void track(service_actor* self, const std::string& home,
           const hooks::domain_stanza& d) {
  auto& st = self->state;
  if (d.stanza->name != "presence")
    return;
  auto type = d.stanza->attr_or("type");
  const auto& name = d.to.local();
  if (type.empty() && !d.to.resource().empty()) {
    auto& r = st.remote[name];
    r.home = home;
    r.occupants[d.from.str()] = d.to.resource();
  } else if (type == "unavailable" || type == "error") {
    auto i = st.remote.find(name);
    if (i != st.remote.end()) {
      i->second.occupants.erase(d.from.str());
      if (i->second.occupants.empty())
        st.remote.erase(i);
    }
  }
}

/// Hands `d` to the service of node `target`; if that node does not
/// take it (lost, no answer), the room runs here.
void forward_to(service_actor* self, const std::string& target,
                const hooks::domain_stanza& d) {
  auto& st = self->state;
  auto to = jid::make("", st.domain.domain(), target);
  if (!to)
    return deliver_here(self, d);
  track(self, target, d);
  cluster::forward f{target, cluster::deliver_mode::full, d.stanza, *to};
  self->request(st.node, std::chrono::seconds(15), std::move(f))
    .then(
      [self, d](bool taken) {
        if (!taken)
          deliver_here(self, d);
      },
      [self, d](caf::error&) { deliver_here(self, d); });
}

/// The node actor said where room `name` runs (`v`: holder, this node,
/// the other nodes alive; empty when it did not answer).
void place(service_actor* self, const std::string& name,
           const std::vector<std::string>& v) {
  auto& st = self->state;
  auto i = st.pending.find(name);
  if (i == st.pending.end())
    return;
  auto ds = std::move(i->second);
  st.pending.erase(i);
  learn_self(self, v);
  std::string target; // empty: here
  if (v.size() >= 2 && st.rooms.count(name) == 0 && !st.self_name.empty()) {
    if (!v[0].empty())
      target = v[0]; // running on that node
    else
      target = home_of(name, v.begin() + 1, v.end());
    if (target == st.self_name)
      target.clear();
  }
  for (auto& d : ds) {
    if (target.empty())
      deliver_here(self, d);
    else
      forward_to(self, target, d);
  }
}

/// A stanza for a room: here when it runs here or without a cluster,
/// else where the cluster says.
void dispatch(service_actor* self, const hooks::domain_stanza& d) {
  auto& st = self->state;
  const auto& name = d.to.local();
  if (st.rooms.count(name) != 0 || !cluster_node(self))
    return deliver_here(self, d);
  if (auto p = st.pending.find(name); p != st.pending.end()) {
    p->second.push_back(d);
    return;
  }
  st.pending[name].push_back(d);
  auto claim = claim_jid(st, name);
  self
    ->request(st.node, std::chrono::seconds(5),
              cluster::placement_atom::value, claim.bare_str(),
              claim.resource())
    .then([self, name](std::vector<std::string>& v) { place(self, name, v); },
          [self, name](caf::error&) { place(self, name, {}); });
}

/// Every 500 ms on a cluster: bind the service once the node actor is
/// there, and tell this node's occupants of rooms whose node was lost
/// (unavailable with 332, XEP-0045 "system shutdown": they join again
/// and the room comes back on a node alive, from the shared store).
void tick(service_actor* self) {
  self->delayed_send(self, std::chrono::milliseconds(500), tick_atom::value);
  auto& st = self->state;
  if (!cluster_node(self) || (!st.self_name.empty() && st.remote.empty()))
    return;
  self
    ->request(st.node, std::chrono::seconds(5),
              cluster::placement_atom::value, std::string{}, std::string{})
    .then(
      [self](std::vector<std::string>& v) {
        auto& st = self->state;
        learn_self(self, v);
        if (v.size() < 2)
          return;
        for (auto i = st.remote.begin(); i != st.remote.end();) {
          if (std::find(v.begin() + 1, v.end(), i->second.home) != v.end()) {
            ++i;
            continue;
          }
          spdlog::info("{}: {}: room {} was on node {}, lost: {} occupant(s) "
                       "here told (332)",
                       st.tag, st.domain.str(), i->first, i->second.home,
                       i->second.occupants.size());
          for (auto& [real, nick] : i->second.occupants) {
            auto from = jid::make(i->first, st.domain.domain(), nick);
            auto to = jid::parse(real);
            if (!from || !to)
              continue;
            auto p = std::make_shared<xml::element>(*shutdown_presence());
            p->set_attr("from", from->str());
            p->set_attr("to", to->str());
            route(st.router.get(), p, *from, *to);
          }
          i = st.remote.erase(i);
        }
      },
      [](caf::error&) {});
}

/// Another node claimed a room we run (two nodes woke it at once while
/// their views of the cluster differed): the newer claim won, so the
/// rooms whose claim is now elsewhere are given up (332 to occupants).
void on_conflict(service_actor* self) {
  auto& st = self->state;
  for (auto& [name, e] : st.rooms) {
    auto claim = claim_jid(st, name);
    self
      ->request(st.node, std::chrono::seconds(5),
                cluster::placement_atom::value, claim.bare_str(),
                claim.resource())
      .then(
        [self, name = name](std::vector<std::string>& v) {
          auto& st = self->state;
          auto i = st.rooms.find(name);
          if (v.empty() || v[0].empty() || i == st.rooms.end())
            return;
          spdlog::warn("{}: {}: room {} claimed by node {} too: given up "
                       "here",
                       st.tag, st.domain.str(), name, v[0]);
          self->send(i->second.room, evict_atom::value);
          st.rooms.erase(i);
        },
        [](caf::error&) {});
  }
}

caf::behavior serve(service_actor* self, std::string tag,
                    std::string domain, std::shared_ptr<docs::store> db,
                    std::shared_ptr<const router_ref> router,
                    service_options opts) {
  auto& st = self->state;
  st.tag = std::move(tag);
  st.domain = *jid::parse(domain);
  st.db = std::move(db);
  st.router = std::move(router);
  st.opts = std::move(opts);
  docs::start(*st.db, st.tag, domain);
  load_directory(self);
  self->send(self, tick_atom::value);
  return {
    [self](const hooks::domain_stanza& d) {
      auto& st = self->state;
      if (d.to.local().empty())
        return to_service(self, d);
      dispatch(self, d);
    },
    // A stanza another node's service forwarded: the room runs here.
    [self](const msg::deliver_local& m) {
      auto from = jid::parse(m.stanza->attr_or("from"));
      auto to = jid::parse(m.stanza->attr_or("to"));
      if (!from || !to)
        return;
      hooks::domain_stanza d{m.stanza, *from, *to};
      if (to->local().empty())
        return to_service(self, d);
      deliver_here(self, d);
    },
    [self](conflict_atom) { on_conflict(self); },
    [self](tick_atom) { tick(self); },
    [self](save_atom, const std::string& name, bool persistent,
           bool is_public, const std::string& title, const std::string& doc) {
      on_save(self, name, persistent, is_public, title, doc);
    },
    [self](idle_atom, const std::string& name, uint64_t handled) {
      auto& st = self->state;
      auto i = st.rooms.find(name);
      if (i == st.rooms.end() || i->second.forwarded != handled)
        return; // more is on its way to it
      self->send(i->second.room, stop_atom::value);
      st.rooms.erase(i);
      if (st.node && !st.self_name.empty()) // no longer runs here
        self->send(st.node, msg::unbind{claim_jid(st, name),
                                        caf::actor_cast<caf::actor>(self)});
      auto l = st.directory.find(name);
      if (l != st.directory.end() && !l->second.persistent)
        st.directory.erase(l); // a temporary room ends when empty
      if (st.directory.count(name) == 0)
        release(st, name);
    },
  };
}

} // namespace

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open) {
  auto& o = store_options;
  o.push_back({"lock_new_rooms", option_type::boolean, false,
               "XEP-0045 §10.1.1: a new room admits nobody but its owner "
               "until configured (an instant room: an empty form); "
               "default true"});
  o.push_back({"archive_size", option_type::integer, false,
               "messages a room keeps for history and its XEP-0313 "
               "archive (default 100)"});
  o.push_back({"archive_save_ms", option_type::integer, false,
               "new messages of a busy persistent room are stored within "
               "this many ms (default 2000; 0: only when the room "
               "hibernates)"});
  o.push_back({"persistent", option_type::boolean, false,
               "new rooms are persistent (default false: temporary)"});
  o.push_back({"max_users", option_type::integer, false,
               "occupants of a new room at most (default 200)"});
  o.push_back({"admins", option_type::string_list, false,
               "bare JIDs that own every room of the service"});
  o.push_back({"max_rooms_per_user", option_type::integer, false,
               "rooms one account may have created that still exist "
               "(default 50; 0: no bound; admins: none); beyond, the "
               "creating presence gets <policy-violation/>"});
  o.push_back({"max_rooms_joined", option_type::integer, false,
               "rooms one account may be in at once, each resource "
               "counted (default 100, as ejabberd's max_user_conferences; "
               "0: no bound); beyond, <resource-constraint/>"});
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) {
      manifest m;
      m.hooks = {hooks::id<hooks::domain_stanza>};
      return m;
    },
    [name, open](const spawn_context& ctx) {
      service_options so;
      so.lock_new_rooms = ctx.options["lock_new_rooms"].value_or(true);
      so.archive_size = static_cast<uint32_t>(std::clamp<int64_t>(
        ctx.options["archive_size"].value_or(int64_t{100}), 0, 100000));
      so.archive_save_ms = static_cast<uint32_t>(std::clamp<int64_t>(
        ctx.options["archive_save_ms"].value_or(int64_t{2000}), 0,
        3600000));
      so.defaults.persistent = ctx.options["persistent"].value_or(false);
      so.defaults.max_users = static_cast<uint32_t>(std::clamp<int64_t>(
        ctx.options["max_users"].value_or(int64_t{200}), 1, 1000000));
      auto admins = std::make_shared<std::vector<std::string>>();
      if (auto a = ctx.options["admins"].as_array())
        for (auto& v : *a)
          if (auto s = v.value<std::string>())
            if (auto j = jid::parse(*s))
              admins->push_back(j->bare_str());
      so.admins = admins;
      so.max_rooms_per_user = static_cast<uint32_t>(std::clamp<int64_t>(
        ctx.options["max_rooms_per_user"].value_or(int64_t{50}), 0,
        1000000));
      so.joined = std::make_shared<occupancy>(
        static_cast<uint32_t>(std::clamp<int64_t>(
          ctx.options["max_rooms_joined"].value_or(int64_t{100}), 0,
          1000000)));
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         ctx.router, so);
    },
  };
}

} // namespace dja::plugins::muc
