// The actor of one XEP-0045 room (serve.hpp: spawn_room): it takes the
// stanzas the service forwards, runs the room logic (state.hpp) and
// routes what it says; it tells the service when its stored form
// changed and when it is empty, so that it can hibernate (its state in
// the store, the actor gone) until the next stanza wakes it.

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/muc/serve.hpp"

namespace dja::plugins::muc {

namespace {

struct room_holder {
  std::shared_ptr<room_state> st;
  uint64_t handled = 0;
  std::string last_archived; ///< the newest message id at the last save
  bool save_armed = false;   ///< a timed save of new messages is due
  static inline const char* name = "muc.room";
};

using room_actor = caf::stateful_actor<room_holder>;

std::string newest(const room_state& st) {
  return st.history.empty() ? std::string{} : st.history.back().id;
}

void save(room_actor* self, const caf::actor& service,
          const std::string& name) {
  auto& st = *self->state.st;
  st.dirty = false;
  self->state.last_archived = newest(st);
  listing l{st.config.persistent, st.config.is_public, st.config.name};
  self->send(service, save_atom::value, name, l.persistent, l.is_public,
             l.title, st.destroyed ? std::string{} : to_stored(st));
}

/// A new room in place of the destroyed `old`.
room_state fresh_room(const room_state& old) {
  room_state st;
  st.room = old.room;
  st.admins = old.admins;
  st.joined = old.joined;
  st.archive_max = old.archive_max;
  st.archive_save_ms = old.archive_save_ms;
  st.lock_new = old.lock_new;
  st.config = old.defaults;
  st.defaults = old.defaults;
  st.salt = old.salt;
  st.fresh = true;
  st.locked = st.lock_new;
  return st;
}

caf::behavior room_main(room_actor* self, std::string name,
                        std::shared_ptr<room_state> st, caf::actor service,
                        std::shared_ptr<const router_ref> router) {
  self->state.st = std::move(st);
  self->state.last_archived = newest(*self->state.st);
  return {
    [=](const hooks::domain_stanza& d) {
      auto& s = self->state;
      auto& room = *s.st;
      ++s.handled;
      if (room.destroyed) // §10.9: gone; a new room may take the name
        room = fresh_room(room);
      handle(room, d.stanza, d.from, d.to);
      for (auto& o : room.out)
        route(router.get(), o.stanza, o.from, o.to);
      room.out.clear();
      // A join into a big room queues two presences per occupant: the
      // vector would keep that capacity (100 KiB in a room of 200,
      // heaptrack) for the room's life.
      if (room.out.capacity() > 64)
        std::vector<outgoing>{}.swap(room.out);
      if (room.destroyed) {
        save(self, service, name); // an empty doc: removed
        self->send(service, idle_atom::value, name, s.handled);
        return;
      }
      bool archived = room.config.persistent
                      && newest(room) != s.last_archived;
      if (room.dirty || (room.empty() && archived))
        save(self, service, name);
      else if (archived && !s.save_armed && room.archive_save_ms > 0) {
        // New messages reach the store within archive_save_ms even while
        // the room is busy: a crash (or a cluster node lost) loses less.
        s.save_armed = true;
        self->delayed_send(self,
                           std::chrono::milliseconds(room.archive_save_ms),
                           save_atom::value);
      }
      if (room.empty())
        self->send(service, idle_atom::value, name, s.handled);
    },
    [=](save_atom) {
      auto& s = self->state;
      s.save_armed = false;
      auto& room = *s.st;
      if (!room.destroyed && room.config.persistent
          && newest(room) != s.last_archived)
        save(self, service, name);
    },
    [=](stop_atom) { self->quit(); },
    [=](evict_atom) {
      auto& room = *self->state.st;
      shut_down(room);
      for (auto& o : room.out)
        route(router.get(), o.stanza, o.from, o.to);
      room.out.clear();
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_room(caf::actor_system& sys, std::string name,
                      std::shared_ptr<room_state> st, caf::actor service,
                      std::shared_ptr<const router_ref> router) {
  return sys.spawn(room_main, std::move(name), std::move(st),
                   std::move(service), std::move(router));
}

void route(const router_ref* router, const xml::element_ptr& s,
           const jid& from, const jid& to) {
  if (router == nullptr || router->shards.empty())
    return;
  caf::anon_send(router->shard_for(to), msg::route{s, from, to});
}

} // namespace dja::plugins::muc
