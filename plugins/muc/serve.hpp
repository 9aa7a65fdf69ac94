#pragma once

// What muc.memory, muc.sqlite and muc.pgsql share: a XEP-0045 Multi-User
// Chat service on a service domain (docs/hooks.md `domain.stanza`), one
// actor per room (room_actor.cpp) under one service actor
// (service.cpp), with the rooms kept as documents in a
// plugins/common/docs store (table `muc_rooms`: user = the room's local
// part, key "room"; user "" holds the directory of rooms by name). Each
// backend only says which store. docs/muc.md describes the service.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "hooks/plugin.hpp"
#include "plugins/common/docs/store.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

/// The table (SQLite, PostgreSQL) of the rooms.
constexpr const char* table = "muc_rooms";

/// The plugin type `name`: `store_options`, then the service's own
/// options; its actor serves `domain.stanza` over the store `open`
/// makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open);

using idle_atom = caf::atom_constant<caf::atom("muc_idle")>;
using save_atom = caf::atom_constant<caf::atom("muc_save")>;
using stop_atom = caf::atom_constant<caf::atom("muc_stop")>;
/// service -> room: another cluster node holds the room now; tell the
/// occupants (status 332) and stop without saving.
using evict_atom = caf::atom_constant<caf::atom("muc_evict")>;

/// What the directory (the service's disco#items) shows of a room.
struct listing {
  bool persistent = false;
  bool is_public = true;
  std::string title;
};

/// Spawns the actor of one room with its state (woken from the store or
/// new). It tells `service` (room -> service):
///  - (save_atom, name, persistent, public, title, doc): its config,
///    affiliations or archive changed (`doc`: to_stored(), stored when
///    persistent; empty: the room is destroyed);
///  - (idle_atom, name, n): it is empty after handling its n-th stanza
///    (the service stops it with stop_atom if it forwarded no more).
/// On evict_atom it sends its occupants status 332 and quits.
caf::actor spawn_room(caf::actor_system& sys, std::string name,
                      std::shared_ptr<room_state> st, caf::actor service,
                      std::shared_ptr<const router_ref> router);

/// Routes `s` (its `from` and `to` set) through the router.
void route(const router_ref* router, const xml::element_ptr& s,
           const jid& from, const jid& to);

} // namespace dja::plugins::muc
