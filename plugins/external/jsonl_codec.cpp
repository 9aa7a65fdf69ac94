// The JSON form of the hooks for the jsonl protocol (jsonl_codec.hpp):
// JIDs are strings, stanzas and other XML are serialized text (parsed back
// with the parser of stored XML, so a program's XML is held to the rules a
// client's is), binary SCRAM values are base64, enums are their names.

#include "plugins/external/jsonl_codec.hpp"

#include "common/base64.hpp"
#include "common/stored_xml.hpp"

namespace dja::plugins::external::jsonl {

namespace {

using namespace dja::hooks;

json enc(const std::string& s) { return s; }
json enc(const jid& j) { return j.str(); }
json enc(uint16_t v) { return v; }
json enc(int64_t v) { return v; }
json enc(bool v) { return v; }
json enc(const xml::element_ptr& e) {
  return e ? json(xml::to_string(*e)) : json();
}
json enc(const roster_item& i) {
  return {{"jid", i.contact.str()},       {"name", i.name},
          {"groups", i.groups},           {"subscription", i.subscription},
          {"ask", i.ask_out},             {"pending_in", i.pending_in},
          {"approved", i.approved},       {"listed", i.listed}};
}
template <class T>
json enc(const std::vector<T>& xs) {
  auto out = json::array();
  for (auto& x : xs)
    out.push_back(enc(x));
  return out;
}
json enc(const std::vector<int64_t>& xs) { return xs; }

/// Collects the fields of a request into one object.
struct fields {
  json obj = json::object();
  template <class T>
  fields& operator()(const char* key, const T& v) {
    obj[key] = enc(v);
    return *this;
  }
};

} // namespace

// The table: each hook's fields, by the names the catalogue gives them.
// (session.bound's session actor stays inside the server.)
#define P(h) json params_of(const hooks::h& r)
P(auth_check_password) {
  return fields{}("user", r.user)("password", r.password)(
           "remote_addr", r.remote_addr).obj;
}
P(auth_user_exists) { return fields{}("user", r.user).obj; }
P(auth_get_scram) { return fields{}("user", r.user)("hash", r.hash).obj; }
P(auth_register) {
  return fields{}("user", r.user)("password", r.password).obj;
}
P(auth_set_password) {
  return fields{}("user", r.user)("password", r.password).obj;
}
P(auth_remove_user) { return fields{}("user", r.user).obj; }
P(auth_list_users) { return json::object(); }
P(iq_request) {
  return fields{}("stanza", r.stanza)("from", r.from)("to", r.to).obj;
}
P(filter_stanza) { return fields{}("stanza", r.stanza)("from", r.from).obj; }
P(deliver) { return fields{}("stanza", r.stanza)("to", r.to).obj; }
P(offline_fetch) { return fields{}("user", r.user).obj; }
P(offline_remove) { return fields{}("user", r.user)("ids", r.ids).obj; }
P(roster_get) { return fields{}("user", r.user).obj; }
P(roster_load_item) {
  return fields{}("user", r.user)("contact", r.contact).obj;
}
P(roster_set_item) { return fields{}("user", r.user)("item", r.item).obj; }
P(roster_remove_item) {
  return fields{}("user", r.user)("contact", r.contact).obj;
}
P(roster_wipe) { return fields{}("user", r.user).obj; }
P(presence_check) {
  return fields{}("prober", r.prober)("contact", r.contact).obj;
}
P(presence_alter_available) {
  return fields{}("stanza", r.stanza)("user", r.user).obj;
}
P(presence_alter_unavailable) {
  return fields{}("stanza", r.stanza)("user", r.user).obj;
}
P(presence_initial) {
  return fields{}("full", r.full)("stanza", r.stanza).obj;
}
P(blocking_list) { return fields{}("user", r.user).obj; }
P(blocking_block) { return fields{}("user", r.user)("items", r.items).obj; }
P(blocking_unblock) {
  return fields{}("user", r.user)("items", r.items).obj;
}
P(blocking_check) {
  return fields{}("user", r.user)("contact", r.contact).obj;
}
P(connection_accepted) {
  return fields{}("remote_addr", r.remote_addr)("remote_port",
                                                r.remote_port).obj;
}
P(session_bound) {
  return fields{}("full", r.full)("remote_addr", r.remote_addr).obj;
}
P(session_closed) {
  return fields{}("full", r.full)("reason", r.reason)("status", r.status)
    .obj;
}
P(archive_store) {
  return fields{}("stanza", r.stanza)("from", r.from)("to", r.to)(
           "from_id", r.from_id)("to_id", r.to_id)("stamp_us", r.stamp_us)(
           "to_bound", r.to_bound)
    .obj;
}
P(archive_query) {
  return fields{}("stanza", r.stanza)("from", r.from)("to", r.to).obj;
}
P(cache_invalidate) { return fields{}("scope", r.scope).obj; }
// XEP-0357: the router shards stay in the process.
P(push_wake) { return fields{}("stanza", r.stanza)("to", r.to).obj; }
#undef P

// --- answers ----------------------------------------------------------------

std::string decode(const json& j, bool& out) {
  if (!j.is_boolean())
    return "a boolean";
  out = j.get<bool>();
  return {};
}

std::string decode(const json& j, std::string& out) {
  if (!j.is_string())
    return "a string";
  out = j.get<std::string>();
  return {};
}

std::string decode(const json& j, std::vector<std::string>& out) {
  if (!j.is_array())
    return "an array of strings";
  for (auto& x : j) {
    if (!x.is_string())
      return "an array of strings";
    out.push_back(x.get<std::string>());
  }
  return {};
}

std::string decode(const json& j, account_result& out) {
  static const std::pair<const char*, account_result> names[] = {
    {"done", account_result::done},
    {"conflict", account_result::conflict},
    {"not_found", account_result::not_found},
    {"not_allowed", account_result::not_allowed}};
  for (auto& [name, value] : names)
    if (j.is_string() && j.get<std::string>() == name) {
      out = value;
      return {};
    }
  return "\"done\", \"conflict\", \"not_found\" or \"not_allowed\"";
}

std::string decode(const json& j, scram_credentials& out) {
  const char* expected = "{\"found\": bool, \"salt\", \"stored_key\", "
                         "\"server_key\": base64, \"iterations\": int}";
  if (!j.is_object() || !j.value("found", json()).is_boolean())
    return expected;
  out.found = j["found"].get<bool>();
  if (!out.found)
    return {};
  auto salt = base64::decode(j.value("salt", ""));
  auto stored = base64::decode(j.value("stored_key", ""));
  auto server = base64::decode(j.value("server_key", ""));
  auto it = j.value("iterations", json());
  if (!salt || !stored || !server || !it.is_number_unsigned())
    return expected;
  out.salt = *salt;
  out.stored_key = *stored;
  out.server_key = *server;
  out.iterations = it.get<uint32_t>();
  return {};
}

std::string decode(const json& j, xml::element_ptr& out) {
  if (!j.is_string() || !(out = xml::parse_stored(j.get<std::string>())))
    return "one XML element as a string";
  return {};
}

std::string decode(const json& j, std::vector<xml::element_ptr>& out) {
  if (!j.is_array())
    return "an array of XML elements as strings";
  for (auto& x : j) {
    xml::element_ptr e;
    if (auto err = decode(x, e); !err.empty())
      return "an array of XML elements as strings";
    out.push_back(std::move(e));
  }
  return {};
}

std::string decode(const json& j, filter_verdict& out) {
  const char* expected = "{\"stanza\": XML} (go on) or {\"drop\": reason}";
  if (!j.is_object())
    return expected;
  if (j.contains("drop")) {
    out.reason = j["drop"].is_string() ? j["drop"].get<std::string>() : "";
    return {};
  }
  return j.contains("stanza") && decode(j["stanza"], out.stanza).empty()
           ? ""
           : expected;
}

std::string decode(const json& j, delivery_verdict& out) {
  if (!j.is_object() || !j.value("taken", json()).is_boolean())
    return "{\"taken\": bool, \"condition\": stanza error or \"\"}";
  out.taken = j["taken"].get<bool>();
  out.condition = j.value("condition", "");
  return {};
}

std::string decode(const json& j, std::vector<offline_message>& out) {
  const char* expected = "an array of {\"id\": int, \"stanza\": XML}";
  if (!j.is_array())
    return expected;
  for (auto& x : j) {
    offline_message m;
    if (!x.is_object() || !x.value("id", json()).is_number_integer()
        || !decode(x.value("stanza", json()), m.stanza).empty())
      return expected;
    m.id = x["id"].get<int64_t>();
    out.push_back(std::move(m));
  }
  return {};
}

std::string decode(const json& j, std::vector<roster_item>& out) {
  const char* expected = "an array of roster items {\"jid\", \"name\", "
                         "\"groups\", \"subscription\", \"ask\", ...}";
  if (!j.is_array())
    return expected;
  for (auto& x : j) {
    if (!x.is_object() || !x.value("jid", json()).is_string())
      return expected;
    auto contact = jid::parse(x["jid"].get<std::string>());
    if (!contact)
      return "roster items with a valid \"jid\"";
    roster_item it;
    it.contact = contact->bare();
    it.name = x.value("name", "");
    it.subscription = x.value("subscription", "none");
    if (it.subscription != "none" && it.subscription != "to"
        && it.subscription != "from" && it.subscription != "both")
      return "a subscription \"none\", \"to\", \"from\" or \"both\"";
    if (x.contains("groups")
        && !decode(x["groups"], it.groups).empty())
      return "\"groups\": an array of strings";
    it.ask_out = x.value("ask", false);
    it.pending_in = x.value("pending_in", false);
    it.approved = x.value("approved", false);
    it.listed = x.value("listed", true);
    out.push_back(std::move(it));
  }
  return {};
}

std::string decode(const json& j, roster& out) {
  if (j.is_array()) // just the items
    return decode(j, out.items);
  if (!j.is_object())
    return "{\"version\": string, \"items\": [...]} or an array of items";
  out.version = j.value("version", "");
  return decode(j.value("items", json::array()), out.items);
}

std::vector<hook_id> hooks_of(const json& names, std::string& err) {
  std::vector<hook_id> res;
  if (!names.is_array()) {
    err = "\"hooks\": an array of hook names";
    return {};
  }
  for (auto& n : names) {
    auto id = n.is_string() ? hooks::find(n.get<std::string>())
                            : std::nullopt;
    if (!id) {
      err = "\"hooks\": hook names, one of " + hooks::names() + " (got "
            + n.dump() + ")";
      return {};
    }
    res.push_back(*id);
  }
  return res;
}

} // namespace dja::plugins::external::jsonl
