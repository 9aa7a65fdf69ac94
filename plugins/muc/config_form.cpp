// muc#owner (XEP-0045 §10): the muc#roomconfig form (§10.2, fields of
// §15.5.3), instant rooms (§10.1.2: an empty submitted form) and
// reserved rooms (§10.1.3: the form asked for, then submitted), which
// unlock a new room; a cancelled creation (§10.1.4); the destruction of
// a room with an alternate venue (§10.9). A change tells the occupants
// with status 104 (§10.2.1).

#include <functional>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

constexpr const char* form_type = "http://jabber.org/protocol/muc#roomconfig";

/// One field of the form: its var, type, label, and how it reads and
/// writes the config.
struct field_def {
  const char* var;
  const char* type;
  const char* label;
  std::function<std::string(const room_config&)> get;
  std::function<bool(room_config&, const std::string&)> set;
};

bool boolean(const std::string& v, bool& out) {
  if (v == "1" || v == "true")
    out = true;
  else if (v == "0" || v == "false")
    out = false;
  else
    return false;
  return true;
}

bool number(const std::string& v, uint32_t& out, uint32_t max) {
  char* end = nullptr;
  auto n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0')
    return false;
  out = static_cast<uint32_t>(std::min<unsigned long>(n, max));
  return true;
}

#define DJA_MUC_BOOL(var, label, member)                                       \
  field_def {                                                                  \
    var, "boolean", label,                                                     \
      [](const room_config& c) { return std::string{c.member ? "1" : "0"}; }, \
      [](room_config& c, const std::string& v) { return boolean(v, c.member); } \
  }

const std::vector<field_def>& fields() {
  static const std::vector<field_def> fs{
    {"muc#roomconfig_roomname", "text-single", "Name",
     [](const room_config& c) { return c.name; },
     [](room_config& c, const std::string& v) {
       c.name = v;
       return true;
     }},
    {"muc#roomconfig_roomdesc", "text-single", "Description",
     [](const room_config& c) { return c.description; },
     [](room_config& c, const std::string& v) {
       c.description = v;
       return true;
     }},
    DJA_MUC_BOOL("muc#roomconfig_persistentroom", "Persistent",
                 persistent),
    DJA_MUC_BOOL("muc#roomconfig_publicroom", "Public (listed)", is_public),
    DJA_MUC_BOOL("muc#roomconfig_membersonly", "Members only",
                 members_only),
    DJA_MUC_BOOL("muc#roomconfig_moderatedroom", "Moderated", moderated),
    DJA_MUC_BOOL("muc#roomconfig_passwordprotectedroom",
                 "Password protected", password_protected),
    {"muc#roomconfig_roomsecret", "text-private", "Password",
     [](const room_config& c) { return c.password; },
     [](room_config& c, const std::string& v) {
       c.password = v;
       return true;
     }},
    {"muc#roomconfig_whois", "list-single", "Who may see real JIDs",
     [](const room_config& c) {
       return std::string{c.whois_anyone ? "anyone" : "moderators"};
     },
     [](room_config& c, const std::string& v) {
       if (v != "anyone" && v != "moderators")
         return false;
       c.whois_anyone = v == "anyone";
       return true;
     }},
    {"muc#roomconfig_maxusers", "list-single", "Maximum occupants",
     [](const room_config& c) { return std::to_string(c.max_users); },
     [](room_config& c, const std::string& v) {
       return number(v, c.max_users, 100000);
     }},
    {"muc#maxhistoryfetch", "text-single", "Messages of history",
     [](const room_config& c) { return std::to_string(c.history_length); },
     [](room_config& c, const std::string& v) {
       return number(v, c.history_length, 1000);
     }},
    {"muc#roomconfig_allowpm", "list-single", "Who may send private messages",
     [](const room_config& c) {
       return std::string{c.allow_pm ? "anyone" : "moderators"};
     },
     [](room_config& c, const std::string& v) {
       if (v != "anyone" && v != "moderators" && v != "participants"
           && v != "none")
         return false;
       c.allow_pm = v == "anyone" || v == "participants";
       return true;
     }},
    DJA_MUC_BOOL("muc#roomconfig_allowinvites", "Members may invite",
                 allow_invites),
    DJA_MUC_BOOL("muc#roomconfig_changesubject",
                 "Participants may change the subject", change_subject),
  };
  return fs;
}

#undef DJA_MUC_BOOL

void add_field(xml::element& x, const field_def& f, const std::string& v) {
  auto& e = x.add_child(xml::element{"field", ns_xdata});
  e.set_attr("var", f.var);
  e.set_attr("type", f.type);
  e.set_attr("label", f.label);
  e.add_child(xml::element{"value", ns_xdata}).add_text(v);
  if (std::string_view{f.var} == "muc#roomconfig_whois"
      || std::string_view{f.var} == "muc#roomconfig_allowpm")
    for (auto* o : {"moderators", "anyone"})
      e.add_child(xml::element{"option", ns_xdata})
        .add_child(xml::element{"value", ns_xdata})
        .add_text(o);
}

xml::element form(const room_state& st) {
  xml::element x{"x", ns_xdata};
  x.set_attr("type", "form");
  x.add_child(xml::element{"title", ns_xdata})
    .add_text("Configuration of " + st.room.bare_str());
  auto& ft = x.add_child(xml::element{"field", ns_xdata});
  ft.set_attr("var", "FORM_TYPE");
  ft.set_attr("type", "hidden");
  ft.add_child(xml::element{"value", ns_xdata}).add_text(form_type);
  for (auto& f : fields())
    add_field(x, f, f.get(st.config));
  return x;
}

/// Applies a submitted form; false when a value is not acceptable.
bool submit(room_state& st, const xml::element& x) {
  auto c = st.config;
  for (auto* f : x.elements()) {
    if (f->name != "field")
      continue;
    auto var = f->attr_or("var");
    auto v = f->child("value", ns_xdata);
    for (auto& d : fields())
      if (var == d.var && !d.set(c, v ? v->text() : ""))
        return false;
  }
  if (c.password.empty())
    c.password_protected = false;
  st.config = c;
  st.dirty = true;
  return true;
}

void destroy(room_state& st, const xml::element& d) {
  // §10.9: every occupant gets unavailable with the <destroy/>.
  xml::element x{"x", ns_user};
  auto& item = x.add_child(xml::element{"item", ns_user});
  item.set_attr("affiliation", "none");
  item.set_attr("role", "none");
  auto& out = x.add_child(xml::element{"destroy", ns_user});
  if (auto j = d.attr("jid"))
    out.set_attr("jid", *j);
  if (auto r = d.child("reason", ns_owner))
    out.add_child(xml::element{"reason", ns_user}).add_text(r->text());
  for (auto& [n, o] : st.occupants) {
    auto p = std::make_shared<xml::element>("presence", ns::client);
    p->set_attr("type", "unavailable");
    p->set_attr("from", st.occupant_jid(n).str());
    p->set_attr("to", o.real.str());
    p->add_child(x);
    st.send(p, st.occupant_jid(n), o.real);
    st.left(o.real);
  }
  st.occupants.clear();
  st.by_real.clear();
  st.destroyed = true;
}

void notify_change(room_state& st) {
  // §10.2.1: status 104, a configuration change.
  for (auto& [n, o] : st.occupants) {
    auto m = std::make_shared<xml::element>("message", ns::client);
    m->set_attr("from", st.room.str());
    m->set_attr("to", o.real.str());
    m->set_attr("type", "groupchat");
    m->add_child(xml::element{"x", ns_user})
      .add_child(xml::element{"status", ns_user})
      .set_attr("code", "104");
    st.send(m, st.room, o.real);
  }
}

} // namespace

void on_owner(room_state& st, const xml::element_ptr& s, const jid& from) {
  if (st.affiliation_of(from) != affiliation::owner) // §10.1.2
    return st.error(*s, from, "forbidden", "only an owner may do this");
  auto q = s->first_element();
  auto result = std::make_shared<xml::element>(errors::iq_result(*s));
  if (s->attr_or("type") == "get") { // §10.1.3, §10.2
    result->add_child(xml::element{"query", ns_owner}).add_child(form(st));
    return st.send(result, st.room, from);
  }
  if (auto d = q->child("destroy", ns_owner)) {
    st.send(result, st.room, from);
    return destroy(st, *d);
  }
  auto x = q->child("x", ns_xdata);
  if (x == nullptr)
    return st.error(*s, from, "bad-request");
  if (x->attr_or("type") == "cancel") {
    // §10.1.4: a creation cancelled destroys the locked room.
    st.send(result, st.room, from);
    if (st.locked)
      destroy(st, xml::element{"destroy", ns_owner});
    return;
  }
  bool was_members_only = st.config.members_only;
  if (x->attr_or("type") != "submit" || !submit(st, *x))
    return st.error(*s, from, "not-acceptable", "bad configuration");
  st.send(result, st.room, from);
  if (st.config.members_only && !was_members_only) {
    // §10.2 (status 322): the room became members-only, non-members go.
    std::vector<std::string> out;
    for (auto& [n, o] : st.occupants)
      if (st.affiliation_of(o.real) == affiliation::none)
        out.push_back(n);
    for (auto& n : out)
      remove_occupant(st, n, {322});
  }
  if (st.locked) {
    st.locked = false; // §10.1.2: an instant or configured room opens
    return;
  }
  notify_change(st);
}

} // namespace dja::plugins::muc
