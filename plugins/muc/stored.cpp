// The stored form of a room (state.hpp: to_stored / from_stored): one
// XML document in the plugins/common/docs store, holding the
// configuration, the affiliations, the subject, the XEP-0421 salt and
// the archive kept when the room hibernates.
//
//   <room xmlns='urn:djabberd-actors:muc:0' salt='..' subject='..'
//         subject-nick='..'>
//     <config name='..' persistent='1' .../>
//     <affiliation jid='..' value='owner'/>
//     <message stamp='µs' id='..' nick='..'>STANZA</message>
//   </room>

#include "common/stored_xml.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

constexpr const char* ns_stored = "urn:djabberd-actors:muc:0";

struct bool_key {
  const char* key;
  bool room_config::*member;
};

constexpr bool_key bool_keys[] = {
  {"persistent", &room_config::persistent},
  {"members-only", &room_config::members_only},
  {"moderated", &room_config::moderated},
  {"public", &room_config::is_public},
  {"whois-anyone", &room_config::whois_anyone},
  {"password-protected", &room_config::password_protected},
  {"allow-pm", &room_config::allow_pm},
  {"allow-invites", &room_config::allow_invites},
  {"change-subject", &room_config::change_subject},
};

uint32_t to_u32(const std::string& s, uint32_t fallback) {
  char* end = nullptr;
  auto v = std::strtoul(s.c_str(), &end, 10);
  return s.empty() || *end != '\0' ? fallback : static_cast<uint32_t>(v);
}

} // namespace

std::string to_stored(const room_state& st) {
  xml::element r{"room", ns_stored};
  r.set_attr("salt", st.salt);
  r.set_attr("subject", st.subject);
  r.set_attr("subject-nick", st.subject_nick);
  if (st.locked)
    r.set_attr("locked", "1");
  auto& c = r.add_child(xml::element{"config", ns_stored});
  c.set_attr("name", st.config.name);
  c.set_attr("description", st.config.description);
  c.set_attr("password", st.config.password);
  c.set_attr("max-users", std::to_string(st.config.max_users));
  c.set_attr("history-length", std::to_string(st.config.history_length));
  for (auto& b : bool_keys)
    c.set_attr(b.key, st.config.*b.member ? "1" : "0");
  for (auto& [j, a] : st.affiliations) {
    auto& e = r.add_child(xml::element{"affiliation", ns_stored});
    e.set_attr("jid", j);
    e.set_attr("value", name_of(a));
  }
  for (auto& h : st.history) {
    auto& m = r.add_child(xml::element{"message", ns_stored});
    m.set_attr("stamp", std::to_string(h.stamp_us));
    m.set_attr("id", h.id);
    m.set_attr("nick", h.nick);
    m.add_child(*h.stanza);
  }
  return xml::to_string(r);
}

bool from_stored(room_state& st, const std::string& doc) {
  auto r = xml::parse_stored(doc);
  if (r == nullptr || r->name != "room")
    return false;
  st.salt = r->attr_or("salt");
  st.subject = r->attr_or("subject");
  st.subject_nick = r->attr_or("subject-nick");
  st.locked = r->attr_or("locked") == "1";
  for (auto* e : r->elements()) {
    if (e->name == "config") {
      auto& c = st.config;
      c.name = e->attr_or("name");
      c.description = e->attr_or("description");
      c.password = e->attr_or("password");
      c.max_users = to_u32(e->attr_or("max-users"), c.max_users);
      c.history_length = to_u32(e->attr_or("history-length"),
                                c.history_length);
      for (auto& b : bool_keys)
        if (auto v = e->attr(b.key))
          c.*b.member = *v == "1";
    } else if (e->name == "affiliation") {
      affiliation a;
      if (parse(e->attr_or("value"), a))
        st.affiliations[e->attr_or("jid")] = a;
    } else if (e->name == "message") {
      if (auto m = e->first_element()) {
        auto copy = std::make_shared<xml::element>(*m);
        st.history.push_back(archived{
          std::strtoll(e->attr_or("stamp").c_str(), nullptr, 10),
          e->attr_or("id"), e->attr_or("nick"), std::move(copy)});
      }
    }
  }
  return true;
}

} // namespace dja::plugins::muc
