// muc#admin (XEP-0045 §8 moderator and §9 admin use cases): role
// changes by nick (kick = role none §8.2, voice §8.3 - §8.4, moderator
// §9.6 - §9.7), affiliation changes by JID (ban = outcast §9.1, member
// §9.3 - §9.4, admin §10.6 - §10.7, owner §10.3 - §10.4), and the lists
// (§8.5 voice, §9.2 ban, §9.5 members, §9.8 moderators, §10.5 owners,
// §10.8 admins).

#include "common/errors.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

bool at_least(affiliation a, affiliation b) {
  return static_cast<int>(a) <= static_cast<int>(b);
}

/// §8.2: nobody changes the role of someone of a higher affiliation;
/// granting or revoking moderator is for admins (§9.6).
const char* role_change(room_state& st, const occupant* actor,
                        affiliation actor_aff, const std::string& nick,
                        role r) {
  if (actor == nullptr || actor->r != role::moderator)
    return "forbidden";
  auto t = st.occupants.find(nick);
  if (t == st.occupants.end())
    return "item-not-found";
  auto target_aff = st.affiliation_of(t->second.real);
  // §8.2, §8.4: not an admin or owner, unless of a lower affiliation.
  if (at_least(target_aff, affiliation::admin)
      && at_least(target_aff, actor_aff))
    return "not-allowed";
  if ((r == role::moderator || t->second.r == role::moderator)
      && !at_least(actor_aff, affiliation::admin))
    return "not-allowed";
  return "";
}

const char* affiliation_change(room_state& st, affiliation actor_aff,
                               const jid& target, affiliation a) {
  if (!at_least(actor_aff, affiliation::admin))
    return "forbidden";
  auto current = st.affiliation_of(target);
  if (actor_aff != affiliation::owner
      && (at_least(current, affiliation::admin)
          || at_least(a, affiliation::admin)))
    return "not-allowed"; // §9: admins manage members and outcasts only
  if (current == affiliation::owner && a != affiliation::owner) {
    size_t owners = 0;
    for (auto& [j, x] : st.affiliations)
      owners += x == affiliation::owner ? 1 : 0;
    if (owners <= 1) // §10.5: a room keeps an owner
      return "conflict";
  }
  return "";
}

/// Applies the affiliation `a` of `target` to its occupants (§9.1 ban:
/// 301; §9.4 removed from a members-only room: 321; otherwise the
/// new affiliation and role broadcast).
void apply_affiliation(room_state& st, const jid& target, affiliation a,
                       const std::string& reason, const std::string& actor) {
  std::vector<std::string> nicks;
  for (auto& [n, o] : st.occupants)
    if (o.real.bare() == target.bare())
      nicks.push_back(n);
  for (auto& n : nicks) {
    if (a == affiliation::outcast)
      remove_occupant(st, n, {301}, reason, actor);
    else if (a == affiliation::none && st.config.members_only)
      remove_occupant(st, n, {321}, reason, actor);
    else {
      st.occupants[n].r = default_role(st, a);
      broadcast_presence(st, n);
    }
  }
}

void list(room_state& st, const xml::element_ptr& s, const jid& from,
          affiliation actor_aff, const occupant* actor,
          const xml::element& item) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*s));
  auto& q = reply->add_child(xml::element{"query", ns_admin});
  affiliation a;
  role r;
  if (parse(item.attr_or("affiliation"), a)) {
    if (!at_least(actor_aff, affiliation::admin)
        && !(a == affiliation::member && st.config.members_only
             && actor_aff == affiliation::member))
      return st.error(*s, from, "forbidden");
    for (auto& [j, x] : st.affiliations)
      if (x == a) {
        auto& i = q.add_child(xml::element{"item", ns_admin});
        i.set_attr("affiliation", name_of(x));
        i.set_attr("jid", j);
      }
  } else if (parse(item.attr_or("role"), r)) {
    if (actor == nullptr || actor->r != role::moderator)
      return st.error(*s, from, "forbidden");
    for (auto& [n, o] : st.occupants)
      if (o.r == r) {
        auto& i = q.add_child(xml::element{"item", ns_admin});
        i.set_attr("role", name_of(r));
        i.set_attr("nick", n);
        i.set_attr("jid", o.real.str());
        i.set_attr("affiliation", name_of(st.affiliation_of(o.real)));
      }
  } else {
    return st.error(*s, from, "bad-request");
  }
  st.send(reply, st.room, from);
}

} // namespace

void on_admin(room_state& st, const xml::element_ptr& s, const jid& from,
              const occupant* actor) {
  auto q = s->first_element();
  auto actor_aff = st.affiliation_of(from);
  auto items = q->elements();
  if (items.empty())
    return st.error(*s, from, "bad-request");
  if (s->attr_or("type") == "get")
    return list(st, s, from, actor_aff, actor, *items.front());
  std::string actor_nick = actor ? *st.nick_of(actor->real) : "";
  // Check every item first: all of them or none (§9.2 / §10.5).
  for (auto* item : items) {
    affiliation a;
    role r;
    const char* err = "bad-request";
    if (parse(item->attr_or("role"), r) && item->attr("nick"))
      err = role_change(st, actor, actor_aff, item->attr_or("nick"), r);
    else if (parse(item->attr_or("affiliation"), a))
      if (auto j = jid::parse(item->attr_or("jid")))
        err = affiliation_change(st, actor_aff, *j, a);
    if (*err != '\0')
      return st.error(*s, from, err);
  }
  for (auto* item : items) {
    auto reason = item->child("reason", ns_admin);
    std::string why = reason ? reason->text() : "";
    affiliation a;
    role r;
    if (parse(item->attr_or("role"), r) && item->attr("nick")) {
      auto nick = item->attr_or("nick");
      if (r == role::none) // §8.2: kicked
        remove_occupant(st, nick, {307}, why, actor_nick);
      else {
        st.occupants[nick].r = r;
        broadcast_presence(st, nick);
      }
    } else if (parse(item->attr_or("affiliation"), a)) {
      auto j = *jid::parse(item->attr_or("jid"));
      if (a == affiliation::none)
        st.affiliations.erase(j.bare_str());
      else
        st.affiliations[j.bare_str()] = a;
      st.dirty = true;
      apply_affiliation(st, j, a, why, actor_nick);
    }
  }
  st.send(std::make_shared<xml::element>(errors::iq_result(*s)), st.room,
          from);
}

} // namespace dja::plugins::muc
