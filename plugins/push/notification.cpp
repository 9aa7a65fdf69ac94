// XEP-0357 §7 notifications (notification.hpp).

#include "plugins/push/notification.hpp"

#include "common/carbons.hpp"

namespace dja::plugins::push {

namespace {

/// Payloads that deserve a wake-up without a <body/>: end-to-end
/// encrypted messages and call proposals (a phone must ring).
bool important_payload(const xml::element& c) {
  return (c.name == "encrypted"
          && (c.ns == "eu.siacs.conversations.axolotl"
              || c.ns.compare(0, 15, "urn:xmpp:omemo:") == 0))
         || (c.name == "openpgp" && c.ns == "urn:xmpp:openpgp:0")
         || (c.name == "propose" && c.ns == "urn:xmpp:jingle-message:0");
}

void add_field(xml::element& x, const char* var, std::string value) {
  x.add_child(xml::element{"field", ns_data})
    .set_attr("var", var)
    .add_child(xml::element{"value", ns_data})
    .add_text(std::move(value));
}

} // namespace

const xml::element* worth_waking(const xml::element& m) {
  if (m.name != "message" || m.attr_or("type") == "error")
    return nullptr;
  auto dir = carbons::direction::received;
  const auto* msg = &m;
  if (const auto* in = carbons::inner(m, &dir)) {
    if (dir == carbons::direction::sent)
      return nullptr; // the user wrote it: nothing to wake her for
    msg = in;
  }
  for (auto* c : msg->elements())
    if (c->name == "body" || important_payload(*c))
      return msg;
  return nullptr;
}

xml::element_ptr notification(const registration& reg, const jid& user,
                              const std::string& id, const summary& s) {
  auto iq = std::make_shared<xml::element>("iq", "jabber:client");
  iq->set_attr("type", "set");
  iq->set_attr("id", id);
  iq->set_attr("from", user.str());
  iq->set_attr("to", reg.app.str());
  auto& pubsub = iq->add_child(xml::element{"pubsub", ns_pubsub});
  auto& publish = pubsub.add_child(xml::element{"publish", ns_pubsub});
  publish.set_attr("node", reg.node);
  auto& x = publish.add_child(xml::element{"item", ns_pubsub})
              .add_child(xml::element{"notification", ns_push})
              .add_child(xml::element{"x", ns_data});
  x.set_attr("type", "submit");
  add_field(x, "FORM_TYPE", "urn:xmpp:push:summary");
  add_field(x, "message-count", std::to_string(s.count));
  if (!s.sender.empty())
    add_field(x, "last-message-sender", s.sender);
  if (!s.body.empty())
    add_field(x, "last-message-body", s.body);
  if (reg.options)
    pubsub.add_child(xml::element{"publish-options", ns_pubsub})
      .add_child(*reg.options);
  return iq;
}

} // namespace dja::plugins::push
