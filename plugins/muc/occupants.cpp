// XEP-0045 occupants: entering a room (§7.2, with every §7.2 error:
// jid-malformed, item-not-found for a locked room, forbidden for an
// outcast, registration-required for members-only, conflict, not-
// authorized, service-unavailable when full), presence updates and
// broadcast (§7.7), nick changes (§7.6, status 303), exiting (§7.14),
// and the removal of an occupant (kick, ban: §8.2, §9.1).

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

void add_status(xml::element& x, const std::vector<int>& codes) {
  for (int c : codes)
    x.add_child(xml::element{"status", ns_user})
      .set_attr("code", std::to_string(c));
}

/// What the room keeps of a client's presence: the children it passes
/// on (<show/>, <status/>, caps ...; shared with the client's stanza,
/// not copied), without the stanza's own attributes and the MUC
/// elements (the memory of an occupant, docs/muc.md).
xml::element_ptr lean(const xml::element& s) {
  auto p = std::make_shared<xml::element>("presence", ns::client);
  if (auto t = s.attr("type"))
    p->set_attr("type", *t);
  for (auto& c : s.children)
    if (c.elem && c.elem->ns != ns_muc && c.elem->ns != ns_user
        && c.elem->ns != ns_occupant_id)
      p->children.push_back(c);
  p->children.shrink_to_fit();
  return p;
}

void join(room_state& st, const xml::element_ptr& s, const jid& from,
          const std::string& nick) {
  auto x = s->child("x", ns_muc);
  auto aff = st.affiliation_of(from);
  bool creating = st.fresh;
  if (creating) {
    // §10.1.1: the first to enter creates the room and owns it.
    aff = affiliation::owner;
    st.affiliations[from.bare_str()] = aff;
    st.dirty = true;
  } else if (st.locked && aff != affiliation::owner) {
    // §10.1.1: nobody else enters until the owner configures it.
    st.error(*s, from, "item-not-found", "the room is locked");
    return;
  }
  if (aff == affiliation::outcast) // §7.2.7
    return st.error(*s, from, "forbidden", "you are banned from this room");
  if (st.config.members_only && aff == affiliation::none) // §7.2.6
    return st.error(*s, from, "registration-required",
                    "the room is members-only");
  if (st.occupants.count(nick) > 0) // §7.2.9
    return st.error(*s, from, "conflict", "that nickname is in use");
  if (st.config.password_protected && !creating) { // §7.2.5
    auto pw = x ? x->child("password", ns_muc) : nullptr;
    if (pw == nullptr || pw->text() != st.config.password)
      return st.error(*s, from, "not-authorized", "a password is required");
  }
  if (st.occupants.size() >= st.config.max_users
      && aff != affiliation::owner && aff != affiliation::admin) // §7.2.10
    return st.error(*s, from, "service-unavailable", "the room is full");
  // The service's bound on the rooms one account is in (as ejabberd's
  // max_user_conferences): <resource-constraint/>.
  if (st.joined && !st.joined->enter(from.bare_str()))
    return st.error(*s, from, "resource-constraint",
                    "you are in too many rooms of this service");
  auto& o = st.occupants[nick];
  o.real = from;
  o.r = default_role(st, aff);
  o.presence = lean(*s);
  st.by_real[from.str()] = nick;
  st.fresh = false;
  // §7.2.3: the presence of every other occupant first, ...
  for (auto& [n, other] : st.occupants)
    if (n != nick)
      st.send(occupant_presence(st, other, &o, {}), st.occupant_jid(n),
              from);
  // ... the new one's to the others, and last the self-presence (110;
  // 100 in a non-anonymous room, §7.2.4; 201 when created, §10.1.1).
  for (auto& [n, other] : st.occupants)
    if (n != nick)
      st.send(occupant_presence(st, o, &other, {}),
              st.occupant_jid(nick), other.real);
  std::vector<int> codes{110};
  if (st.config.whois_anyone)
    codes.push_back(100);
  if (creating)
    codes.push_back(201);
  st.send(occupant_presence(st, o, &o, codes), st.occupant_jid(nick),
          from);
  send_history(st, o, x); // §7.2.15 (none in a new room)
  send_subject(st, from); // §7.2.16
}

void change_nick(room_state& st, const xml::element_ptr& s, const jid& from,
                 const std::string& old_nick, const std::string& nick) {
  if (st.occupants.count(nick) > 0) // §7.6.3
    return st.error(*s, from, "conflict", "that nickname is in use");
  auto o = st.occupants[old_nick];
  o.presence = lean(*s);
  // §7.6.2: unavailable from the old nick with 303 and the new one ...
  xml::element item{"item", ns_user};
  item.set_attr("nick", nick);
  for (auto& [n, viewer] : st.occupants) {
    std::vector<int> codes{303};
    if (n == old_nick)
      codes.push_back(110);
    auto p = occupant_presence(st, o, &viewer, codes, &item);
    st.send(p, st.occupant_jid(old_nick), viewer.real);
  }
  st.occupants.erase(old_nick);
  st.occupants[nick] = o;
  st.by_real[from.str()] = nick;
  // ... then available from the new one.
  for (auto& [n, viewer] : st.occupants) {
    std::vector<int> codes;
    if (n == nick)
      codes.push_back(110);
    st.send(occupant_presence(st, o, &viewer, codes),
            st.occupant_jid(nick), viewer.real);
  }
}

} // namespace

role default_role(const room_state& st, affiliation a) {
  switch (a) {
    case affiliation::owner:
    case affiliation::admin:
      return role::moderator;
    case affiliation::member:
      return role::participant;
    case affiliation::outcast:
      return role::none;
    default:
      return st.config.moderated ? role::visitor : role::participant;
  }
}

xml::element_ptr occupant_presence(const room_state& st, const occupant& o,
                                   const occupant* viewer,
                                   const std::vector<int>& codes,
                                   const xml::element* extra) {
  auto p = std::make_shared<xml::element>("presence", ns::client);
  bool gone = o.r == role::none || extra != nullptr
              || (o.presence && o.presence->attr_or("type") == "unavailable");
  if (gone)
    p->set_attr("type", "unavailable");
  if (o.presence)
    for (auto& c : o.presence->children)
      // The client's <show/>, <status/>, caps ...: shared, not copied.
      if (c.elem && c.elem->ns != ns_muc && c.elem->ns != ns_user
          && c.elem->ns != ns_occupant_id)
        p->children.push_back(c);
  p->add_child(xml::element{"occupant-id", ns_occupant_id})
    .set_attr("id", st.occupant_id(o.real));
  auto& x = p->add_child(xml::element{"x", ns_user});
  auto& item = x.add_child(extra ? *extra : xml::element{"item", ns_user});
  item.set_attr("affiliation", name_of(st.affiliation_of(o.real)));
  item.set_attr("role", name_of(o.r));
  if (viewer && st.sees_jids(*viewer)) // §7.2.3 / §7.2.4
    item.set_attr("jid", o.real.str());
  add_status(x, codes);
  return p;
}

void broadcast_presence(room_state& st, const std::string& nick,
                        const std::vector<int>& codes) {
  auto i = st.occupants.find(nick);
  if (i == st.occupants.end())
    return;
  for (auto& [n, viewer] : st.occupants) {
    auto c = codes;
    if (n == nick)
      c.push_back(110);
    st.send(occupant_presence(st, i->second, &viewer, c),
            st.occupant_jid(nick), viewer.real);
  }
}

void remove_occupant(room_state& st, const std::string& nick,
                     const std::vector<int>& codes, const std::string& reason,
                     const std::string& actor) {
  auto i = st.occupants.find(nick);
  if (i == st.occupants.end())
    return;
  auto o = std::move(i->second);
  st.occupants.erase(i);
  st.by_real.erase(o.real.str());
  st.left(o.real);
  o.r = role::none;
  xml::element item{"item", ns_user};
  if (!actor.empty())
    item.add_child(xml::element{"actor", ns_user}).set_attr("nick", actor);
  if (!reason.empty())
    item.add_child(xml::element{"reason", ns_user}).add_text(reason);
  item.set_attr("role", "none");
  // The one removed first (with 110), then the others (§8.2, §9.1).
  auto self = codes;
  self.push_back(110);
  st.send(occupant_presence(st, o, &o, self, &item),
          st.occupant_jid(nick), o.real);
  for (auto& [n, viewer] : st.occupants)
    st.send(occupant_presence(st, o, &viewer, codes, &item),
            st.occupant_jid(nick), viewer.real);
}

xml::element_ptr shutdown_presence() {
  auto p = std::make_shared<xml::element>("presence", ns::client);
  p->set_attr("type", "unavailable");
  auto& x = p->add_child(xml::element{"x", ns_user});
  x.add_child(xml::element{"item", ns_user})
    .set_attr("affiliation", "none")
    .set_attr("role", "none");
  for (int c : {110, 332})
    x.add_child(xml::element{"status", ns_user})
      .set_attr("code", std::to_string(c));
  return p;
}

void shut_down(room_state& st) {
  for (auto& [nick, o] : st.occupants) {
    st.send(shutdown_presence(), st.occupant_jid(nick), o.real);
    st.left(o.real);
  }
  st.occupants.clear();
  st.by_real.clear();
}

void on_presence(room_state& st, const xml::element_ptr& s, const jid& from,
                 const jid& to) {
  auto type = s->attr_or("type");
  auto mine = st.nick_of(from);
  if (type == "error") {
    // The occupant's client or server bounced a presence: it is gone.
    if (mine)
      remove_occupant(st, std::string{*mine}, {333});
    return;
  }
  if (type == "unavailable") { // §7.14
    if (mine == nullptr)
      return;
    auto nick = *mine;
    auto& o = st.occupants[nick];
    o.presence = lean(*s); // its <status/> goes to everyone
    o.r = role::none;
    for (auto& [n, viewer] : st.occupants) {
      std::vector<int> codes;
      if (n == nick)
        codes.push_back(110);
      st.send(occupant_presence(st, o, &viewer, codes),
              st.occupant_jid(nick), viewer.real);
    }
    st.occupants.erase(nick);
    st.by_real.erase(from.str());
    st.left(from);
    return;
  }
  if (!type.empty())
    return; // subscriptions and probes mean nothing to a room
  if (to.resource().empty()) // §7.2.1: a nickname is required
    return st.error(*s, from, "jid-malformed", "a nickname is required");
  if (mine == nullptr)
    return join(st, s, from, to.resource());
  if (*mine != to.resource())
    return change_nick(st, s, from, *mine, to.resource());
  // §7.7: a new status, broadcast to all.
  auto nick = *mine;
  st.occupants[nick].presence = lean(*s);
  broadcast_presence(st, nick);
}

} // namespace dja::plugins::muc
