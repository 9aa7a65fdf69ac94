// PEP nodes (node.hpp): XEP-0060 §16.4.3 node configuration as data
// forms (XEP-0004), the §7.1.5 publish-options preconditions, items kept
// within pubsub#max_items, and the stored form of a node.

#include "plugins/pep/node.hpp"

#include <algorithm>

namespace dja::plugins::pep {

namespace {

constexpr const char* ns_store = "urn:djabberd-actors:pep";

/// "1"/"true" and "0"/"false" (XEP-0004 §3.3 boolean).
std::optional<bool> boolean(const std::string& v) {
  if (v == "1" || v == "true")
    return true;
  if (v == "0" || v == "false")
    return false;
  return std::nullopt;
}

std::optional<access> access_of(const std::string& v) {
  if (v == "presence")
    return access::presence;
  if (v == "open")
    return access::open;
  if (v == "whitelist")
    return access::whitelist;
  return std::nullopt;
}

/// pubsub#max_items: a positive integer or "max" (XEP-0060 §16.4.3).
std::optional<int64_t> max_items_of(const std::string& v, int64_t limit) {
  if (v == "max")
    return limit;
  try {
    size_t end = 0;
    auto n = std::stoll(v, &end);
    if (end != v.size() || n < 1)
      return std::nullopt;
    return std::min<int64_t>(n, limit);
  } catch (...) {
    return std::nullopt;
  }
}

const std::string* single(const form_values& f, const char* var) {
  auto i = f.find(var);
  return i == f.end() || i->second.empty() ? nullptr : &i->second.front();
}

xml::element field(const char* var, const char* type,
                   const std::string& value) {
  xml::element f{"field", ns_data};
  f.set_attr("var", var).set_attr("type", type);
  f.add_child(xml::element{"value", ns_data}).add_text(value);
  return f;
}

} // namespace

const char* name_of(access a) {
  switch (a) {
    case access::open:
      return "open";
    case access::whitelist:
      return "whitelist";
    default:
      return "presence";
  }
}

form_values read_form(const xml::element& x) {
  form_values out;
  for (auto* f : x.elements()) {
    if (f->name != "field" || f->attr("var") == nullptr)
      continue;
    auto& vals = out[f->attr_or("var")];
    for (auto* v : f->elements())
      if (v->name == "value")
        vals.push_back(v->text());
  }
  return out;
}

std::optional<std::string> apply(node_config& cfg, const form_values& form,
                                 int64_t limit) {
  auto next = cfg;
  if (auto v = single(form, "pubsub#access_model")) {
    auto a = access_of(*v);
    if (!a)
      return "access model " + *v + " is not supported";
    next.model = *a;
  }
  if (auto v = single(form, "pubsub#max_items")) {
    auto n = max_items_of(*v, limit);
    if (!n)
      return "pubsub#max_items must be a positive integer or max";
    next.max_items = *n;
  }
  if (auto v = single(form, "pubsub#persist_items")) {
    auto b = boolean(*v);
    if (!b)
      return "pubsub#persist_items must be a boolean";
    next.persist_items = *b;
  }
  if (auto v = single(form, "pubsub#send_last_published_item")) {
    if (*v != "never" && *v != "on_sub" && *v != "on_sub_and_presence")
      return "pubsub#send_last_published_item: never, on_sub or "
             "on_sub_and_presence";
    next.send_last = *v;
  }
  cfg = next;
  return std::nullopt;
}

bool meets(const node_config& cfg, const form_values& form, int64_t limit) {
  // The preconditions hold when applying them changes nothing.
  auto probe = cfg;
  if (apply(probe, form, limit))
    return false;
  return probe.model == cfg.model && probe.max_items == cfg.max_items
         && probe.persist_items == cfg.persist_items
         && probe.send_last == cfg.send_last;
}

xml::element config_form(const node_config& cfg) {
  xml::element x{"x", ns_data};
  x.set_attr("type", "form");
  x.add_child(field("FORM_TYPE", "hidden", form_node_config));
  auto& am = x.add_child(
    field("pubsub#access_model", "list-single", name_of(cfg.model)));
  for (auto* o : {"presence", "open", "whitelist"})
    am.add_child(xml::element{"option", ns_data})
      .add_child(xml::element{"value", ns_data})
      .add_text(o);
  x.add_child(
    field("pubsub#max_items", "text-single", std::to_string(cfg.max_items)));
  x.add_child(field("pubsub#persist_items", "boolean",
                    cfg.persist_items ? "1" : "0"));
  auto& sl = x.add_child(
    field("pubsub#send_last_published_item", "list-single", cfg.send_last));
  for (auto* o : {"never", "on_sub", "on_sub_and_presence"})
    sl.add_child(xml::element{"option", ns_data})
      .add_child(xml::element{"value", ns_data})
      .add_text(o);
  return x;
}

std::string serialize(const node& n) {
  xml::element doc{"node", ns_store};
  doc.set_attr("access", name_of(n.config.model));
  doc.set_attr("max", std::to_string(n.config.max_items));
  doc.set_attr("persist", n.config.persist_items ? "1" : "0");
  doc.set_attr("send_last", n.config.send_last);
  for (auto& s : n.subscribers)
    doc.add_child(xml::element{"sub", ns_store}).set_attr("jid", s);
  for (auto& m : n.members)
    doc.add_child(xml::element{"member", ns_store}).set_attr("jid", m);
  for (auto& it : n.items) {
    auto& e = doc.add_child(xml::element{"item", ns_store});
    e.set_attr("id", it.id).set_attr("publisher", it.publisher);
    e.add_child(it.payload);
  }
  return xml::to_string(doc);
}

std::optional<node> deserialize(const std::string& name,
                                const xml::element& doc) {
  if (doc.name != "node" || doc.ns != ns_store)
    return std::nullopt;
  node n;
  n.name = name;
  n.config.model = access_of(doc.attr_or("access")).value_or(access::presence);
  n.config.max_items = max_items_of(doc.attr_or("max"), INT64_MAX).value_or(1);
  n.config.persist_items = doc.attr_or("persist") != "0";
  n.config.send_last = doc.attr_or("send_last", "on_sub_and_presence");
  for (auto* c : doc.elements()) {
    if (c->name == "sub")
      n.subscribers.insert(c->attr_or("jid"));
    else if (c->name == "member")
      n.members.insert(c->attr_or("jid"));
    else if (c->name == "item" && c->first_element() != nullptr)
      n.items.push_back({c->attr_or("id"), c->attr_or("publisher"),
                         *c->first_element()});
  }
  return n;
}

void add_item(node& n, node_item it) {
  auto& items = n.items;
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const node_item& x) { return x.id == it.id; }),
              items.end());
  items.push_back(std::move(it));
  // XEP-0060 §7.1.3.x: a transient node keeps the last item only (for
  // send_last_published_item).
  auto keep = n.config.persist_items
                ? static_cast<size_t>(std::max<int64_t>(1, n.config.max_items))
                : size_t{1};
  if (items.size() > keep)
    items.erase(items.begin(), items.end() - static_cast<long>(keep));
}

} // namespace dja::plugins::pep
