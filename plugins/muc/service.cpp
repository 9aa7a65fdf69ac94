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
#include <random>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/muc/serve.hpp"

namespace dja::plugins::muc {

namespace {

constexpr const char* ns_rsm = "http://jabber.org/protocol/rsm";

/// The options of the service (make_type).
struct service_options {
  bool lock_new_rooms = true;
  uint32_t archive_size = 100;
  room_config defaults;
  std::shared_ptr<const std::vector<std::string>> admins;
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

/// The directory from the store (user "": key = room, value = "P|title"
/// with P = 1 for a public room).
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
    if (d && d->found && d->value.size() >= 2)
      st.directory[room] = listing{true, d->value[0] == '1',
                                   d->value.substr(2)};
  }
}

/// XEP-0030 disco#items with XEP-0059 paging (<max/>, <after/>,
/// <before/>): the public rooms by name.
void disco_items(service_actor* self, const hooks::domain_stanza& d,
                 const xml::element& q) {
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
    room->fresh = true;
    room->locked = st.opts.lock_new_rooms;
    room->salt = random_salt();
  }
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
    if (!err)
      err = st.db->put("", {{name, (is_public ? "1|" : "0|") + title}},
                       docs::unix_now());
    st.directory[name] = listing{true, is_public, title};
  } else {
    err = st.db->remove(name, "room");
    if (!err)
      err = st.db->remove("", name);
    if (doc.empty() || !persistent) {
      if (doc.empty())
        st.directory.erase(name);
      else
        st.directory[name] = listing{false, is_public, title};
    }
  }
  if (err)
    spdlog::error("{}: {}: cannot store room {}: {}", st.tag,
                  st.domain.str(), name, caf::to_string(err));
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
  return {
    [self](const hooks::domain_stanza& d) {
      auto& st = self->state;
      if (d.to.local().empty())
        return to_service(self, d);
      auto i = st.rooms.find(d.to.local());
      caf::actor room;
      if (i != st.rooms.end())
        room = i->second.room;
      else if (!(room = wake(self, d.to.local(), d)))
        return;
      ++st.rooms[d.to.local()].forwarded;
      self->send(room, d);
    },
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
      auto l = st.directory.find(name);
      if (l != st.directory.end() && !l->second.persistent)
        st.directory.erase(l); // a temporary room ends when empty
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
  o.push_back({"persistent", option_type::boolean, false,
               "new rooms are persistent (default false: temporary)"});
  o.push_back({"max_users", option_type::integer, false,
               "occupants of a new room at most (default 200)"});
  o.push_back({"admins", option_type::string_list, false,
               "bare JIDs that own every room of the service"});
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
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         ctx.router, so);
    },
  };
}

} // namespace dja::plugins::muc
