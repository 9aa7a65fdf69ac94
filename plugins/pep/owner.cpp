// XEP-0060 owner use cases on a PEP service (state.hpp): create (§8.1,
// with a configuration), configure get/set (§8.2), delete (§8.4, with
// notification), purge (§8.5, with notification), and the member
// affiliations of a whitelist node (§8.9). Only the account itself owns
// its nodes (XEP-0163 §4.1): anyone else gets <forbidden/>.

#include <caf/all.hpp>

#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

namespace {

/// <event><NAME node='N'/></event> (§8.4.2, §8.5.2).
xml::element node_event(const char* name, const std::string& node) {
  xml::element ev{"event", ns_event};
  ev.add_child(xml::element{name, ns_event}).set_attr("node", node);
  return ev;
}

} // namespace

caf::result<reply_t> pep_state::owner(const hooks::iq_request& r,
                                      const xml::element& q) {
  if (!docs::own(r))
    return error(r, "forbidden");
  auto children = q.elements();
  if (children.empty())
    return error(r, "bad-request");
  auto& a = *children.front();
  bool set = r.stanza->attr_or("type") == "set";
  auto name = a.attr_or("node");
  auto user = r.to.local();
  if (a.name != "configure" && a.name != "delete" && a.name != "purge"
      && a.name != "affiliations")
    return error(r, "feature-not-implemented", "unsupported",
                 a.name == "default" ? "retrieve-default"
                                     : "manage-subscriptions");
  if (name.empty())
    return error(r, "bad-request", "nodeid-required");
  auto loaded = load(user, name);
  if (!loaded)
    return error(r, "internal-server-error");
  if (!*loaded)
    return error(r, "item-not-found");
  auto& n = **loaded;
  if (a.name == "configure" && !set) { // §8.2.1
    auto c = xml::element{"configure", ns_owner};
    c.set_attr("node", name);
    c.add_child(config_form(n.config));
    return result_with(r, ns_owner, std::move(c));
  }
  if (a.name == "affiliations" && !set) { // §8.9.1
    xml::element out{"affiliations", ns_owner};
    out.set_attr("node", name);
    out.add_child(xml::element{"affiliation", ns_owner})
      .set_attr("jid", r.to.bare().str())
      .set_attr("affiliation", "owner");
    for (auto& m : n.members)
      out.add_child(xml::element{"affiliation", ns_owner})
        .set_attr("jid", m)
        .set_attr("affiliation", "member");
    return result_with(r, ns_owner, std::move(out));
  }
  if (!set)
    return error(r, "bad-request");
  if (a.name == "configure") { // §8.2.4
    auto x = a.child("x", ns_data);
    if (x == nullptr)
      return error(r, "bad-request");
    if (x->attr_or("type") == "cancel")
      return docs::empty_result(r);
    if (auto bad = apply(n.config, read_form(*x), limits.max_items))
      return docs::error(r, "not-acceptable", *bad);
    // A smaller max_items drops the oldest items now.
    if (!n.items.empty()) {
      auto last = n.items.back();
      n.items.pop_back();
      add_item(n, std::move(last));
    }
  } else if (a.name == "affiliations") { // §8.9.2: member or none
    for (auto* e : a.elements()) {
      auto who = jid::parse(e->attr_or("jid"));
      auto aff = e->attr_or("affiliation");
      if (!who || (aff != "member" && aff != "none"))
        return error(r, "bad-request");
      if (aff == "member")
        n.members.insert(who->bare().str());
      else
        n.members.erase(who->bare().str());
    }
  } else if (a.name == "purge") { // §8.5
    n.items.clear();
  }
  if (a.name == "delete") { // §8.4
    if (auto err = db->remove(user, name)) {
      docs::failed(tag, domain, "delete", err);
      return error(r, "internal-server-error");
    }
    broadcast(r.to.bare(), n, node_event("delete", name));
    return docs::empty_result(r);
  }
  if (save(user, n))
    return error(r, "internal-server-error");
  if (a.name == "purge")
    broadcast(r.to.bare(), n, node_event("purge", name));
  return docs::empty_result(r);
}

reply_t pep_state::create(const hooks::iq_request& r,
                          const xml::element& create,
                          const xml::element* configure) {
  if (!docs::own(r))
    return error(r, "forbidden");
  auto name = create.attr_or("node");
  if (name.empty()) // §8.1.3: instant nodes make no sense in PEP
    return error(r, "not-acceptable", "nodeid-required");
  auto user = r.to.local();
  auto loaded = load(user, name);
  auto sizes = node_sizes(user);
  if (!loaded || !sizes)
    return error(r, "internal-server-error");
  if (*loaded) // §8.1.3.4
    return error(r, "conflict");
  if (static_cast<int64_t>(sizes->size()) >= limits.max_nodes)
    return error(r, "not-allowed", "max-nodes-exceeded");
  node n;
  n.name = name;
  if (configure != nullptr)
    if (auto x = configure->child("x", ns_data))
      if (auto bad = apply(n.config, read_form(*x), limits.max_items))
        return docs::error(r, "not-acceptable", *bad);
  if (save(user, n))
    return error(r, "internal-server-error");
  return docs::empty_result(r);
}

} // namespace dja::plugins::pep
