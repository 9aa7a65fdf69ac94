// XEP-0280 Message Carbons: eligibility (§6, §9, XEP-0334 §4.2), the
// wrapped copies (§7, §8, XEP-0297 §3) and what a forged carbon loses
// (§11). See carbons.hpp.

#include "common/carbons.hpp"

#include <memory>

#include "common/namespaces.hpp"

namespace dja::carbons {

namespace {

bool is_wrapper(const xml::element& c) {
  return c.ns == ns::carbons && (c.name == "received" || c.name == "sent");
}

} // namespace

bool eligible(const xml::element& m, direction d) {
  if (m.name != "message")
    return false;
  auto type = m.attr_or("type", "normal");
  bool body = false;
  for (auto* c : m.elements()) {
    // §9: <private/>; XEP-0334 §4.2: <no-copy/>; §6: nothing a MUC
    // room sent (its private messages included); a carbon is never
    // copied again.
    if ((c->ns == ns::carbons && (c->name == "private" || is_wrapper(*c)))
        || (c->ns == ns::hints && c->name == "no-copy")
        || (c->ns == ns::muc_user && c->name == "x"))
      return false;
    if (c->name == "body" && c->ns == ns::client)
      body = true;
  }
  if (type == "chat")
    return true;
  if (type == "normal")
    return body;
  if (type == "error") {
    // §6: an error to a message that was eligible; without tracking
    // messages, the bounce of one sent to a bare JID (from it) is the
    // case that matters: the conversation's other devices see it.
    auto from = jid::parse(m.attr_or("from"));
    return d == direction::received && from && from->is_bare()
           && !from->local().empty();
  }
  return false; // groupchat, headline
}

xml::element_ptr wrap(const xml::element_ptr& m, const jid& user,
                      direction d) {
  auto out = std::make_shared<xml::element>("message", ns::client);
  out->set_attr("from", user.bare_str());
  // §7, §8: the wrapper SHOULD keep the original's type.
  if (auto type = m->attr("type"))
    out->set_attr("type", *type);
  xml::element forwarded{"forwarded", ns::forward};
  // The original's top element is copied; its children are shared.
  forwarded.add_child(*m);
  xml::element wrapper{d == direction::sent ? "sent" : "received",
                       ns::carbons};
  wrapper.add_child(std::move(forwarded));
  out->add_child(std::move(wrapper));
  return out;
}

xml::element_ptr strip_forged(const xml::element& m) {
  bool any = false;
  for (auto* c : m.elements())
    any = any || is_wrapper(*c);
  if (!any)
    return nullptr;
  auto out = std::make_shared<xml::element>(m.name, m.ns);
  out->attrs = m.attrs;
  for (auto& n : m.children)
    if (!n.elem || !is_wrapper(*n.elem))
      out->children.push_back(n);
  return out;
}

const xml::element* inner(const xml::element& m, direction* d) {
  for (auto* c : m.elements()) {
    if (!is_wrapper(*c))
      continue;
    auto* fwd = c->child("forwarded", ns::forward);
    auto* orig = fwd ? fwd->child("message", ns::client) : nullptr;
    if (orig && d)
      *d = c->name == "sent" ? direction::sent : direction::received;
    return orig;
  }
  return nullptr;
}

} // namespace dja::carbons
