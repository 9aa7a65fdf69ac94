// iqs to a room (XEP-0045 §6.4 disco#info with the muc#roominfo form,
// §6.5 disco#items, muc#admin and muc#owner to admin.cpp and
// config_form.cpp, XEP-0313 to archive.cpp, XEP-0199 ping) and to an
// occupant (§7.5's iq relay, and XEP-0410 self-ping answered by the
// room).

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "plugins/muc/archive.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

void field(xml::element& form, const char* var, const std::string& value,
           const char* type = nullptr) {
  auto& f = form.add_child(xml::element{"field", ns_xdata});
  f.set_attr("var", var);
  if (type)
    f.set_attr("type", type);
  f.add_child(xml::element{"value", ns_xdata}).add_text(value);
}

void disco_info(room_state& st, const xml::element_ptr& s, const jid& from) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*s));
  auto& q = reply->add_child(xml::element{"query", ns::disco_info});
  auto& id = q.add_child(xml::element{"identity", ns::disco_info});
  id.set_attr("category", "conference");
  id.set_attr("type", "text");
  id.set_attr("name", st.config.name.empty() ? st.room.local()
                                              : st.config.name);
  for (auto& f : room_features(st))
    q.add_child(xml::element{"feature", ns::disco_info}).set_attr("var", f);
  // §15.5.4 muc#roominfo
  auto& x = q.add_child(xml::element{"x", ns_xdata});
  x.set_attr("type", "result");
  field(x, "FORM_TYPE", "http://jabber.org/protocol/muc#roominfo", "hidden");
  field(x, "muc#roominfo_description", st.config.description);
  field(x, "muc#roominfo_subject", st.subject);
  field(x, "muc#roominfo_occupants", std::to_string(st.occupants.size()));
  field(x, "muc#roomconfig_changesubject",
        st.config.change_subject ? "1" : "0");
  st.send(reply, st.room, from);
}

/// §7.5 / XEP-0410: an iq to an occupant's room JID.
void to_occupant(room_state& st, const xml::element_ptr& s, const jid& from,
                 const jid& to) {
  auto type = s->attr_or("type");
  auto mine = st.nick_of(from);
  if (type == "result" || type == "error") {
    // An answer to a relayed iq: back to the occupant who asked.
    auto asker = st.occupants.find(to.resource());
    if (mine == nullptr) // a vCard answered by the account (bare JID)
      for (auto& [n, o] : st.occupants)
        if (o.real.bare() == from.bare()) {
          mine = &n;
          break;
        }
    if (mine == nullptr || asker == st.occupants.end())
      return;
    auto r = std::make_shared<xml::element>(*s);
    r->set_attr("from", st.occupant_jid(*mine).str());
    r->set_attr("to", asker->second.real.str());
    st.send(r, st.occupant_jid(*mine), asker->second.real);
    return;
  }
  if (mine == nullptr) // XEP-0410 §3: not joined (any more)
    return st.error(*s, from, "not-acceptable", "you are not in the room");
  auto q = s->first_element();
  if (*mine == to.resource() && q && q->ns == ns::ping) { // XEP-0410
    auto reply = std::make_shared<xml::element>(errors::iq_result(*s));
    st.send(reply, to, from);
    return;
  }
  auto target = st.occupants.find(to.resource());
  if (target == st.occupants.end())
    return st.error(*s, from, "item-not-found", "no such occupant");
  if (!st.config.allow_pm && st.occupants[*mine].r != role::moderator)
    return st.error(*s, from, "not-allowed");
  auto r = std::make_shared<xml::element>(*s);
  auto real = target->second.real;
  if (q && q->ns == "vcard-temp")
    real = real.bare(); // §7.5 / XEP-0054: the vCard of the account
  r->set_attr("from", st.occupant_jid(*mine).str());
  r->set_attr("to", real.str());
  st.send(r, st.occupant_jid(*mine), real);
}

} // namespace

std::vector<std::string> room_features(const room_state& st) {
  auto& c = st.config;
  std::vector<std::string> fs{
    ns_muc,
    ns::disco_info,
    ns::disco_items,
    "urn:xmpp:mam:2",
    "urn:xmpp:sid:0",
    ns_occupant_id,
    "http://jabber.org/protocol/muc#self-ping-optimization",
    "http://jabber.org/protocol/muc#stable_id",
    c.persistent ? "muc_persistent" : "muc_temporary",
    c.members_only ? "muc_membersonly" : "muc_open",
    c.moderated ? "muc_moderated" : "muc_unmoderated",
    c.is_public ? "muc_public" : "muc_hidden",
    c.password_protected ? "muc_passwordprotected" : "muc_unsecured",
    c.whois_anyone ? "muc_nonanonymous" : "muc_semianonymous",
  };
  return fs;
}

void on_iq(room_state& st, const xml::element_ptr& s, const jid& from,
           const jid& to) {
  if (!to.resource().empty())
    return to_occupant(st, s, from, to);
  auto type = s->attr_or("type");
  if (type == "result" || type == "error")
    return;
  auto q = s->first_element();
  if (q == nullptr)
    return st.error(*s, from, "bad-request");
  if (q->ns == ns::disco_info && type == "get" && q->attr("node") == nullptr)
    return disco_info(st, s, from);
  if (q->ns == ns::disco_items && type == "get") {
    // §6.5: the occupants are not listed (semi-anonymity).
    auto reply = std::make_shared<xml::element>(errors::iq_result(*s));
    reply->add_child(xml::element{"query", ns::disco_items});
    return st.send(reply, st.room, from);
  }
  if (q->ns == ns::ping && type == "get")
    return st.send(std::make_shared<xml::element>(errors::iq_result(*s)),
                   st.room, from);
  if (q->ns == ns_admin) {
    auto mine = st.nick_of(from);
    return on_admin(st, s, from, mine ? &st.occupants[*mine] : nullptr);
  }
  if (q->ns == ns_owner)
    return on_owner(st, s, from);
  if (q->ns == "urn:xmpp:mam:2")
    return on_archive_query(st, s, from);
  st.error(*s, from, "service-unavailable");
}

} // namespace dja::plugins::muc
