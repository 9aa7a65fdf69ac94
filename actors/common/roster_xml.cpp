#include "common/roster_xml.hpp"

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

} // namespace dja::roster_xml
