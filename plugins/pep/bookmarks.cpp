// XEP-0411 Bookmarks Conversion, the server side of XEP-0402 §3 (state.hpp):
// old clients keep their bookmarks in private XML storage (XEP-0049,
// `<storage xmlns='storage:bookmarks'/>`, XEP-0048), new ones in the PEP
// node urn:xmpp:bookmarks:1 (one item per room, id = the room's JID).
// Here the PEP node is the one copy: a private get of storage:bookmarks
// is answered from the node, a private set rewrites the node (items
// published and retracted with notifications, so new clients see what
// an old one did). Other private XML is declined (the private.* plugin
// after this one answers it). Legacy <url/> bookmarks have no XEP-0402
// form and are not kept.

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

namespace {

constexpr const char* ns_legacy = "storage:bookmarks";
constexpr const char* ns_bookmarks = "urn:xmpp:bookmarks:1";
constexpr const char* ns_private = "jabber:iq:private";

bool truthy(const std::string& v) {
  return v == "true" || v == "1";
}

/// A XEP-0048 <conference/> as a XEP-0402 item (nullopt: no room JID).
std::optional<node_item> to_item(const xml::element& c,
                                 const std::string& owner) {
  auto room = jid::parse(c.attr_or("jid"));
  if (!room || !room->is_bare())
    return std::nullopt;
  xml::element p{"conference", ns_bookmarks};
  if (auto n = c.attr("name"))
    p.set_attr("name", *n);
  p.set_attr("autojoin", truthy(c.attr_or("autojoin")) ? "true" : "false");
  for (auto* k : {"nick", "password"})
    if (auto e = c.child(k))
      p.add_child(xml::element{k, ns_bookmarks}).add_text(e->text());
  return node_item{room->str(), owner, std::move(p)};
}

/// A XEP-0402 item as a XEP-0048 <conference/>.
xml::element to_legacy(const node_item& it) {
  xml::element c{"conference", ns_legacy};
  c.set_attr("jid", it.id);
  if (auto n = it.payload.attr("name"))
    c.set_attr("name", *n);
  c.set_attr("autojoin",
             truthy(it.payload.attr_or("autojoin")) ? "true" : "false");
  for (auto* k : {"nick", "password"})
    if (auto e = it.payload.child(k))
      c.add_child(xml::element{k, ns_legacy}).add_text(e->text());
  return c;
}

} // namespace

caf::result<reply_t> pep_state::private_xml(const hooks::iq_request& r,
                                            const xml::element& q) {
  auto children = q.elements();
  if (q.name != "query" || children.size() != 1 || !docs::own(r)
      || children.front()->name != "storage"
      || children.front()->ns != ns_legacy)
    return reply_t::decline();
  auto user = r.to.local();
  auto loaded = load(user, ns_bookmarks);
  if (!loaded)
    return error(r, "internal-server-error");
  if (r.stanza->attr_or("type") == "get") {
    auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
    auto& st = reply->add_child(xml::element{"query", ns_private})
                 .add_child(xml::element{"storage", ns_legacy});
    if (*loaded)
      for (auto& it : (*loaded)->items)
        st.add_child(to_legacy(it));
    return reply_t::handled(reply);
  }
  node n;
  if (*loaded) {
    n = std::move(**loaded);
  } else {
    // XEP-0402 §3: the node's configuration.
    n.name = ns_bookmarks;
    n.config.model = access::whitelist;
    n.config.max_items = limits.max_items;
    n.config.send_last = "never";
  }
  std::vector<node_item> wanted;
  for (auto* c : children.front()->elements())
    if (c->name == "conference")
      if (auto it = to_item(*c, r.to.bare().str()))
        wanted.push_back(std::move(*it));
  std::vector<std::string> gone;
  for (auto& old : n.items) {
    bool kept = false;
    for (auto& w : wanted)
      kept = kept || w.id == old.id;
    if (!kept)
      gone.push_back(old.id);
  }
  n.items.clear();
  for (auto& w : wanted)
    add_item(n, w);
  if (static_cast<int64_t>(serialize(n).size()) > limits.max_payload
                                                   * limits.max_items)
    return docs::error(r, "not-acceptable", "too many bookmarks");
  if (save(user, n))
    return error(r, "internal-server-error");
  // XEP-0402 §3.4 / §3.5: what a new client sees of the change.
  xml::element ev{"event", ns_event};
  auto& items = ev.add_child(xml::element{"items", ns_event});
  items.set_attr("node", ns_bookmarks);
  for (auto& it : n.items) {
    auto& e = items.add_child(xml::element{"item", ns_event});
    e.set_attr("id", it.id);
    e.add_child(it.payload);
  }
  for (auto& id : gone)
    items.add_child(xml::element{"retract", ns_event}).set_attr("id", id);
  if (!n.items.empty() || !gone.empty())
    broadcast(r.to.bare(), n, ev);
  return docs::empty_result(r);
}

} // namespace dja::plugins::pep
