// XEP-0045 messages: groupchat to all occupants with the sender's echo
// (§7.4, XEP-0359 stanza-id and XEP-0421 occupant-id added), private
// messages between occupants (§7.5), the subject (§8.1, §7.2.16),
// mediated invitations and declines (§7.8.2, §7.8.2's decline), and the
// discussion history sent on entering (§7.2.15, XEP-0203 delay).

#include <algorithm>

#include "common/delay.hpp"
#include "common/namespaces.hpp"
#include "common/stanza_id.hpp"
#include "plugins/mam/common/query.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

/// `s` as the room sends it on: `from` the occupant's room JID, no
/// `to`, the sender's stanza-ids and occupant-ids dropped (XEP-0359
/// §3.3, XEP-0421 §4), ours added.
std::shared_ptr<xml::element> relayed(const room_state& st,
                                      const xml::element& s,
                                      const occupant& sender,
                                      const std::string& nick) {
  auto m = std::make_shared<xml::element>(s);
  m->set_attr("from", st.occupant_jid(nick).str());
  m->remove_attr("to");
  m->children.erase(
    std::remove_if(m->children.begin(), m->children.end(),
                   [](const xml::node& n) {
                     return n.elem && n.elem->name == "occupant-id"
                            && n.elem->ns == ns_occupant_id;
                   }),
    m->children.end());
  stanza_id::strip(*m, st.room.bare_str());
  m->add_child(xml::element{"occupant-id", ns_occupant_id})
    .set_attr("id", st.occupant_id(sender.real));
  return m;
}

/// A copy of `m` (its children shared) addressed to `to`.
xml::element_ptr addressed(const xml::element& m, const jid& to) {
  auto c = std::make_shared<xml::element>(m);
  c->set_attr("to", to.str());
  return c;
}

void fan_out(room_state& st, const xml::element& m, const jid& from) {
  for (auto& [n, o] : st.occupants)
    st.send(addressed(m, o.real), from, o.real);
}

void groupchat(room_state& st, const xml::element_ptr& s, const jid& from) {
  auto mine = st.nick_of(from);
  if (mine == nullptr) // §7.4: only occupants talk
    return st.error(*s, from, "not-acceptable", "you are not in the room");
  auto nick = *mine;
  auto& o = st.occupants[nick];
  if (o.r == role::visitor) // §7.4 / §8.1: no voice
    return st.error(*s, from, "forbidden", "you have no voice");
  auto subject = s->child("subject", ns::client);
  if (subject && s->child("body", ns::client) == nullptr) { // §8.1
    if (o.r != role::moderator && !st.config.change_subject)
      return st.error(*s, from, "forbidden",
                      "you may not change the subject");
    st.subject = subject->text();
    st.subject_nick = nick;
    st.dirty = true;
    auto m = relayed(st, *s, o, nick);
    fan_out(st, *m, st.occupant_jid(nick));
    return;
  }
  auto stamp = stanza_id::now_us();
  auto m = relayed(st, *s, o, nick);
  auto id = stanza_id::make(st.room.bare_str(), m->attr_or("from"), stamp);
  stanza_id::add(*m, st.room.bare_str(), id);
  fan_out(st, *m, st.occupant_jid(nick));
  if (s->child("body", ns::client) == nullptr)
    return; // chat states etc. are not history
  st.history.push_back(archived{stamp, id, nick, m});
  while (st.history.size() > std::max(st.archive_max, 1u))
    st.history.pop_front();
}

void private_message(room_state& st, const xml::element_ptr& s,
                     const jid& from, const jid& to) {
  auto mine = st.nick_of(from);
  if (mine == nullptr) // §7.5
    return st.error(*s, from, "not-acceptable", "you are not in the room");
  if (s->attr_or("type") == "groupchat") // §7.5
    return st.error(*s, from, "bad-request",
                    "a groupchat message goes to the room");
  auto target = st.occupants.find(to.resource());
  if (target == st.occupants.end())
    return st.error(*s, from, "item-not-found", "no such occupant");
  auto& o = st.occupants[*mine];
  if (!st.config.allow_pm && o.r != role::moderator)
    return st.error(*s, from, "not-allowed",
                    "private messages are not allowed here");
  auto m = relayed(st, *s, o, *mine);
  if (m->child("x", ns_user) == nullptr) // §7.5: marks it as a MUC PM
    m->add_child(xml::element{"x", ns_user});
  auto real = target->second.real;
  m->set_attr("to", real.str());
  st.send(m, st.occupant_jid(*mine), real);
}

/// §7.8.2: an invitation through the room; `x` is its muc#user <x/>.
void mediated(room_state& st, const xml::element_ptr& s, const jid& from,
              const xml::element& x) {
  auto mine = st.nick_of(from);
  auto aff = st.affiliation_of(from);
  if (auto inv = x.child("invite", ns_user)) {
    auto to = jid::parse(inv->attr_or("to"));
    if (!to)
      return st.error(*s, from, "jid-malformed", "bad invitee");
    if (mine == nullptr)
      return st.error(*s, from, "not-acceptable", "you are not in the room");
    bool may = !st.config.members_only || aff == affiliation::owner
               || aff == affiliation::admin
               || (st.config.allow_invites && aff == affiliation::member);
    if (!may) // §7.8.2: only those who may
      return st.error(*s, from, "forbidden", "you may not invite");
    if (st.config.members_only
        && st.affiliation_of(*to) == affiliation::none) {
      // §9.3 / §7.8.2: the invitee becomes a member.
      st.affiliations[to->bare_str()] = affiliation::member;
      st.dirty = true;
    }
    auto m = std::make_shared<xml::element>("message", ns::client);
    m->set_attr("from", st.room.str());
    m->set_attr("to", to->str());
    auto& ux = m->add_child(xml::element{"x", ns_user});
    auto& i = ux.add_child(xml::element{"invite", ns_user});
    i.set_attr("from", from.bare_str());
    if (auto r = inv->child("reason", ns_user))
      i.add_child(xml::element{"reason", ns_user}).add_text(r->text());
    if (st.config.password_protected)
      ux.add_child(xml::element{"password", ns_user})
        .add_text(st.config.password);
    st.send(m, st.room, *to);
    return;
  }
  if (auto dec = x.child("decline", ns_user)) {
    auto to = jid::parse(dec->attr_or("to"));
    if (!to)
      return;
    auto m = std::make_shared<xml::element>("message", ns::client);
    m->set_attr("from", st.room.str());
    m->set_attr("to", to->str());
    auto& d = m->add_child(xml::element{"x", ns_user})
                .add_child(xml::element{"decline", ns_user});
    d.set_attr("from", from.bare_str());
    if (auto r = dec->child("reason", ns_user))
      d.add_child(xml::element{"reason", ns_user}).add_text(r->text());
    st.send(m, st.room, *to);
    return;
  }
  st.error(*s, from, "bad-request");
}

/// An error saying that the occupant's session is not there any more.
bool gone(const xml::element& s) {
  auto e = s.child("error");
  auto c = e ? e->first_element() : nullptr;
  if (c == nullptr)
    return false;
  for (auto* n : {"service-unavailable", "recipient-unavailable",
                  "item-not-found", "remote-server-not-found", "gone"})
    if (c->name == n)
      return true;
  return false;
}

} // namespace

void on_message(room_state& st, const xml::element_ptr& s, const jid& from,
                const jid& to) {
  auto type = s->attr_or("type");
  if (type == "error") {
    // A message of the room bounced: the occupant's session is gone.
    if (auto mine = st.nick_of(from); mine && gone(*s))
      remove_occupant(st, std::string{*mine}, {333});
    return;
  }
  if (!to.resource().empty())
    return private_message(st, s, from, to);
  if (type == "groupchat")
    return groupchat(st, s, from);
  if (auto x = s->child("x", ns_user))
    return mediated(st, s, from, *x);
  st.error(*s, from, "bad-request",
           "a message to the room is of type groupchat");
}

void send_history(room_state& st, const occupant& o,
                  const xml::element* muc_x) {
  // §7.2.15: the room's own bound, then what the client asks for.
  size_t n = std::min<size_t>(st.history.size(), st.config.history_length);
  int64_t max_chars = -1;
  int64_t since_us = 0;
  if (auto h = muc_x ? muc_x->child("history", ns_muc) : nullptr) {
    if (auto v = h->attr("maxstanzas"))
      n = std::min<size_t>(n, std::strtoul(v->c_str(), nullptr, 10));
    if (auto v = h->attr("maxchars"))
      max_chars = std::strtoll(v->c_str(), nullptr, 10);
    if (auto v = h->attr("seconds"))
      since_us = stanza_id::now_us()
                 - std::strtoll(v->c_str(), nullptr, 10) * 1000000;
    if (auto v = h->attr("since"))
      if (auto t = mam::parse_stamp(*v))
        since_us = std::max(since_us, *t);
  }
  size_t first = st.history.size() - n;
  std::vector<xml::element_ptr> picked;
  int64_t chars = 0;
  for (size_t i = st.history.size(); i-- > first;) {
    auto& h = st.history[i];
    if (h.stamp_us < since_us)
      break;
    auto m = delay::stamped(*h.stanza, st.room.bare_str(),
                            static_cast<std::time_t>(h.stamp_us / 1000000));
    m.set_attr("to", o.real.str());
    if (max_chars >= 0) {
      chars += static_cast<int64_t>(xml::to_string(m).size());
      if (chars > max_chars)
        break;
    }
    picked.push_back(std::make_shared<xml::element>(std::move(m)));
  }
  for (auto i = picked.rbegin(); i != picked.rend(); ++i)
    st.send(*i, jid::parse((*i)->attr_or("from")).value_or(st.room), o.real);
}

void send_subject(room_state& st, const jid& to) {
  auto m = std::make_shared<xml::element>("message", ns::client);
  auto from = st.subject_nick.empty() ? st.room
                                      : st.occupant_jid(st.subject_nick);
  m->set_attr("from", from.str());
  m->set_attr("to", to.str());
  m->set_attr("type", "groupchat");
  auto& subj = m->add_child(xml::element{"subject", ns::client});
  if (!st.subject.empty())
    subj.add_text(st.subject);
  st.send(m, from, to);
}

} // namespace dja::plugins::muc
