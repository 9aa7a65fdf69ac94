#include "common/roster_xml.hpp"

#include <algorithm>
#include <memory>

namespace dja::roster_xml {

xml::element item(const roster_item& it, bool removed) {
  xml::element el{"item", ns};
  el.set_attr("jid", it.contact.str());
  if (removed) {
    el.set_attr("subscription", "remove");
    return el;
  }
  if (!it.name.empty())
    el.set_attr("name", it.name);
  el.set_attr("subscription", it.subscription);
  if (it.ask_out)
    el.set_attr("ask", "subscribe");
  if (it.approved)
    el.set_attr("approved", "true"); // RFC 6121 §3.4.2
  for (auto& g : it.groups)
    el.add_child(xml::element{"group", ns}).add_text(g);
  return el;
}

xml::element_ptr push(const roster_item& it, const std::string& version,
                      bool removed) {
  auto iq = std::make_shared<xml::element>("iq", "jabber:client");
  iq->set_attr("type", "set").set_attr("id", "push-" + version);
  auto& q = iq->add_child(xml::element{"query", ns});
  if (!version.empty())
    q.set_attr("ver", version);
  q.add_child(item(it, removed));
  return iq;
}

std::vector<xml::element_ptr> changes(const roster& before,
                                      const roster& now) {
  std::vector<xml::element_ptr> out;
  if (before.version == now.version)
    return out;
  auto same = [](const roster_item& a, const roster_item& b) {
    return a.name == b.name && a.subscription == b.subscription
           && a.groups == b.groups;
  };
  auto find = [](const std::vector<roster_item>& v, const jid& c) {
    return std::find_if(v.begin(), v.end(),
                        [&](const roster_item& x) { return x.contact == c; });
  };
  for (auto& it : now.items) {
    auto old = find(before.items, it.contact);
    if (old == before.items.end() || !same(*old, it))
      out.push_back(push(it, now.version, false));
  }
  for (auto& it : before.items)
    if (find(now.items, it.contact) == now.items.end())
      out.push_back(push(it, now.version, true));
  return out;
}

} // namespace dja::roster_xml
