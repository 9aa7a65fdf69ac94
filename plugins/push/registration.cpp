// Reading and writing XEP-0357 registrations (registration.hpp).

#include "plugins/push/registration.hpp"

namespace dja::plugins::push {

std::string key_of(const jid& app, const std::string& node) {
  return app.str() + "\n" + node;
}

std::string app_of_key(const std::string& key) {
  return key.substr(0, key.find('\n'));
}

std::string registration::key() const {
  return key_of(app, node);
}

xml::element registration::to_xml() const {
  xml::element e{"registration", ns_push};
  e.set_attr("jid", app.str());
  e.set_attr("node", node);
  e.set_attr("resource", resource);
  if (options)
    e.add_child(*options);
  return e;
}

std::string form_type(const xml::element& x) {
  for (auto* f : x.elements())
    if (f->name == "field" && f->attr_or("var") == "FORM_TYPE")
      if (auto* v = f->child("value"))
        return v->text();
  return {};
}

enable_result parse_enable(const xml::element& enable,
                           const std::string& resource) {
  auto app = enable.attr("jid");
  if (app == nullptr || app->empty())
    return {std::nullopt, "bad-request", "missing jid"};
  auto j = jid::parse(*app);
  if (!j)
    return {std::nullopt, "jid-malformed", {}};
  registration r{*j, enable.attr_or("node"), resource, nullptr};
  // XEP-0357 §5: optional publish-options, passed on with every
  // notification (XEP-0060 §7.1.5).
  if (auto* x = enable.child("x", ns_data)) {
    if (form_type(*x) != publish_options_type)
      return {std::nullopt, "bad-request", "not a publish-options form"};
    r.options = std::make_shared<xml::element>(*x);
  }
  return {std::move(r), nullptr, {}};
}

std::optional<registration> parse_stored(const xml::element& e) {
  auto j = jid::parse(e.attr_or("jid"));
  if (e.name != "registration" || !j)
    return std::nullopt;
  registration r{*j, e.attr_or("node"), e.attr_or("resource"), nullptr};
  if (auto* x = e.child("x", ns_data))
    r.options = std::make_shared<xml::element>(*x);
  return r;
}

} // namespace dja::plugins::push
