// XEP-0060 entity use cases on a PEP service (state.hpp): publish with
// auto-create and publish-options (§7.1, §7.1.5), retrieve items (§6.5),
// retract (§7.2), subscribe / unsubscribe (§6.1, §6.2), and the access
// models (§4.5) that decide who may retrieve and subscribe. Only the
// account may publish to its own nodes (XEP-0163 §4.1; others get
// <forbidden/>, §7.1.3.1).

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/errors.hpp"
#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

namespace {

/// An item as retrieved or notified: <item id=...>payload</item>.
xml::element item_element(const char* ns, const node_item& it) {
  xml::element e{"item", ns};
  e.set_attr("id", it.id);
  e.add_child(it.payload);
  return e;
}

std::string random_id() {
  std::string out;
  for (unsigned char c : crypto::random_bytes(8)) {
    const char* hex = "0123456789abcdef";
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

/// §6.1.3.2 / §6.5.8: why a non-owner may not see the node.
reply_t denied(const hooks::iq_request& r, const node& n) {
  if (n.config.model == access::whitelist)
    return error(r, "not-allowed", "closed-node");
  return error(r, "not-authorized", "presence-subscription-required");
}

} // namespace

caf::result<reply_t> pep_state::pubsub(const hooks::iq_request& r,
                                       const xml::element& q) {
  auto children = q.elements();
  if (children.empty())
    return error(r, "bad-request");
  auto& a = *children.front();
  bool set = r.stanza->attr_or("type") == "set";
  if (!set && a.name == "items")
    return items(r, a);
  if (!set) {
    auto feature = a.name == "subscriptions" ? "retrieve-subscriptions"
                   : a.name == "affiliations" ? "retrieve-affiliations"
                                              : "retrieve-items";
    return error(r, "feature-not-implemented", "unsupported", feature);
  }
  if (a.name == "publish")
    return publish(r, a, q.child("publish-options", ns_pubsub));
  if (a.name == "retract")
    return retract(r, a);
  if (a.name == "subscribe" || a.name == "unsubscribe")
    return subscribe(r, a, a.name == "subscribe");
  if (a.name == "create")
    return create(r, a, q.child("configure", ns_pubsub));
  return error(r, "feature-not-implemented", "unsupported",
               a.name == "options" ? "subscription-options" : "publish");
}

reply_t pep_state::publish(const hooks::iq_request& r,
                           const xml::element& pub,
                           const xml::element* options) {
  if (!docs::own(r)) // §7.1.3.1
    return error(r, "forbidden");
  auto name = pub.attr_or("node");
  if (name.empty())
    return error(r, "bad-request", "nodeid-required");
  auto item = pub.child("item", ns_pubsub);
  if (item == nullptr) // §7.1.3.6: PEP nodes are persistent
    return error(r, "bad-request", "item-required");
  auto payloads = item->elements();
  if (payloads.empty())
    return error(r, "bad-request", "payload-required");
  if (payloads.size() > 1)
    return error(r, "bad-request", "invalid-payload");
  std::optional<form_values> opts;
  if (options != nullptr)
    if (auto x = options->child("x", ns_data))
      opts = read_form(*x);
  node_item it{item->attr_or("id"), r.from.bare().str(), *payloads.front()};
  if (it.id.empty())
    it.id = random_id(); // §7.1.2 the service assigns one
  auto id = it.id;
  if (auto err = publish_item(r, name, std::move(it), opts ? &*opts : nullptr))
    return reply_t::handled(err);
  xml::element p{"publish", ns_pubsub};
  p.set_attr("node", name);
  p.add_child(xml::element{"item", ns_pubsub}).set_attr("id", id);
  return result_with(r, ns_pubsub, std::move(p));
}

xml::element_ptr pep_state::publish_item(const hooks::iq_request& r,
                                         const std::string& name,
                                         node_item it,
                                         const form_values* options) {
  auto owner = r.to.local();
  auto loaded = load(owner, name);
  if (!loaded)
    return error(r, "internal-server-error").value;
  auto sizes = node_sizes(owner);
  if (!sizes)
    return error(r, "internal-server-error").value;
  node n;
  if (*loaded) {
    n = std::move(**loaded);
    // §7.1.5: the node exists and its configuration differs.
    if (options != nullptr && !meets(n.config, *options, limits.max_items))
      return error(r, "conflict", "precondition-not-met").value;
  } else {
    // §7.1.4 auto-create, with the publish-options as its configuration.
    if (static_cast<int64_t>(sizes->size()) >= limits.max_nodes) {
      spdlog::info("{}: vhost {}: {} has {} nodes; {} not created", tag,
                   domain, owner, sizes->size(), name);
      return error(r, "not-allowed", "max-nodes-exceeded").value;
    }
    n.name = name;
    if (options != nullptr)
      if (auto bad = apply(n.config, *options, limits.max_items))
        return error(r, "conflict", "precondition-not-met").value;
  }
  auto bytes = static_cast<int64_t>(xml::to_string(it.payload).size());
  if (bytes > limits.max_payload) {
    spdlog::info("{}: vhost {}: item of {} bytes to {} of {} refused", tag,
                 domain, bytes, name, owner);
    return error(r, "not-acceptable", "payload-too-big").value;
  }
  auto stored_item = it;
  add_item(n, std::move(it));
  auto doc = serialize(n);
  if (limits.quota > 0) {
    int64_t total = static_cast<int64_t>(doc.size());
    for (auto& [k, size] : *sizes)
      if (k != name)
        total += size;
    if (total > limits.quota) {
      spdlog::info("{}: vhost {}: publish to {} of {} refused: {} bytes, "
                   "over the quota {}",
                   tag, domain, name, owner, total, limits.quota);
      return errors::stanza_error(*r.stanza, "not-acceptable",
                                  "PEP storage of the account is full");
    }
  }
  if (save(owner, n))
    return error(r, "internal-server-error").value;
  xml::element ev{"event", ns_event};
  auto& items = ev.add_child(xml::element{"items", ns_event});
  items.set_attr("node", name);
  items.add_child(item_element(ns_event, stored_item))
    .set_attr("publisher", stored_item.publisher);
  broadcast(r.to.bare(), n, ev);
  if (name == "urn:xmpp:avatar:metadata") // XEP-0398 §4
    avatar_to_vcard(r.to.bare(), stored_item.payload);
  return nullptr;
}

caf::result<reply_t> pep_state::items(const hooks::iq_request& r,
                                      const xml::element& q) {
  auto name = q.attr_or("node");
  if (name.empty())
    return error(r, "bad-request", "nodeid-required");
  auto loaded = load(r.to.local(), name);
  if (!loaded)
    return error(r, "internal-server-error");
  if (!*loaded && is_avatar_node(name)) { // XEP-0398: the vCard photo
    auto rp = self->make_response_promise<reply_t>();
    vcard_avatar(r, name, [rp](reply_t x) mutable { rp.deliver(x); });
    return rp;
  }
  if (!*loaded) // §6.5.9.11
    return error(r, "item-not-found");
  auto n = std::make_shared<node>(std::move(**loaded));
  // §6.5.7: the most recent max_items; §6.5.8: the items asked by id.
  size_t max = n->items.size();
  if (auto m = q.attr("max_items")) {
    try {
      max = std::min<size_t>(max, std::stoul(*m));
    } catch (...) {
      return error(r, "bad-request");
    }
  }
  std::vector<std::string> ids;
  for (auto* i : q.elements())
    if (i->name == "item")
      ids.push_back(i->attr_or("id"));
  auto answer = [this, r, n, max, ids, name](bool ok) {
    if (!ok)
      return denied(r, *n);
    xml::element out{"items", ns_pubsub};
    out.set_attr("node", name);
    auto first = n->items.size() - max;
    for (size_t i = ids.empty() ? first : 0; i < n->items.size(); ++i) {
      auto& it = n->items[i];
      if (ids.empty()
          || std::find(ids.begin(), ids.end(), it.id) != ids.end())
        out.add_child(item_element(ns_pubsub, it));
    }
    return result_with(r, ns_pubsub, std::move(out));
  };
  if (docs::own(r))
    return answer(true);
  auto rp = self->make_response_promise<reply_t>();
  authorize(r, *n, [rp, answer](bool ok) mutable { rp.deliver(answer(ok)); });
  return rp;
}

reply_t pep_state::retract(const hooks::iq_request& r, const xml::element& q) {
  if (!docs::own(r)) // §7.2.3.1
    return error(r, "forbidden");
  auto name = q.attr_or("node");
  if (name.empty())
    return error(r, "bad-request", "nodeid-required");
  auto item = q.child("item", ns_pubsub);
  if (item == nullptr || item->attr_or("id").empty())
    return error(r, "bad-request", "item-required");
  auto loaded = load(r.to.local(), name);
  if (!loaded)
    return error(r, "internal-server-error");
  if (!*loaded)
    return error(r, "item-not-found");
  auto& n = **loaded;
  auto id = item->attr_or("id");
  auto i = std::find_if(n.items.begin(), n.items.end(),
                        [&](const node_item& x) { return x.id == id; });
  if (i == n.items.end()) // §7.2.3.5
    return error(r, "item-not-found");
  n.items.erase(i);
  if (save(r.to.local(), n))
    return error(r, "internal-server-error");
  auto notify = q.attr_or("notify");
  if (notify == "true" || notify == "1") { // §7.2.2.1
    xml::element ev{"event", ns_event};
    auto& items = ev.add_child(xml::element{"items", ns_event});
    items.set_attr("node", name);
    items.add_child(xml::element{"retract", ns_event}).set_attr("id", id);
    broadcast(r.to.bare(), n, ev);
  }
  return docs::empty_result(r);
}

caf::result<reply_t> pep_state::subscribe(const hooks::iq_request& r,
                                          const xml::element& q, bool sub) {
  auto name = q.attr_or("node");
  if (name.empty())
    return error(r, "bad-request", "nodeid-required");
  auto who = jid::parse(q.attr_or("jid"));
  // §6.1.3.1 / §6.2.3.3: only for oneself.
  if (!who || who->bare() != r.from.bare())
    return error(r, "bad-request", "invalid-jid");
  auto loaded = load(r.to.local(), name);
  if (!loaded)
    return error(r, "internal-server-error");
  if (!*loaded) // §6.1.3.12
    return error(r, "item-not-found");
  auto n = std::make_shared<node>(std::move(**loaded));
  auto owner = r.to.local();
  if (!sub) {
    if (n->subscribers.erase(who->str()) == 0) // §6.2.3.2
      return error(r, "unexpected-request", "not-subscribed");
    if (save(owner, *n))
      return error(r, "internal-server-error");
    return docs::empty_result(r);
  }
  auto rp = self->make_response_promise<reply_t>();
  authorize(r, *n, [this, r, n, rp, who = *who](bool ok) mutable {
    if (!ok) {
      rp.deliver(denied(r, *n));
      return;
    }
    n->subscribers.insert(who.str());
    if (save(r.to.local(), *n)) {
      rp.deliver(error(r, "internal-server-error"));
      return;
    }
    xml::element s{"subscription", ns_pubsub};
    s.set_attr("node", n->name).set_attr("jid", who.str());
    s.set_attr("subscription", "subscribed");
    rp.deliver(result_with(r, ns_pubsub, std::move(s)));
    // §6.1.7: the last item on subscription.
    if (n->config.send_last != "never") {
      if (!who.is_bare())
        send_last(r.to.bare(), *n, who);
      else if (auto u = online.find(who.str()); u != online.end())
        for (auto& [res, info] : u->second)
          if (info.available)
            if (auto full = jid::parse(who.str() + "/" + res))
              send_last(r.to.bare(), *n, *full);
    }
  });
  return rp;
}

void pep_state::authorize(const hooks::iq_request& r, const node& n,
                          std::function<void(bool)> k) {
  if (docs::own(r) || n.config.model == access::open) {
    k(true);
    return;
  }
  auto requester = r.from.bare().str();
  if (n.config.model == access::whitelist) {
    k(n.members.count(requester) > 0);
    return;
  }
  // presence: the owner's roster must give the requester her presence
  // (subscription from or both).
  self->request(vhost, std::chrono::seconds(10), hooks::roster_get{r.to.bare()})
    .then(
      [k, requester](hooks::roster& ros) {
        for (auto& item : ros.items)
          if (item.contact.str() == requester) {
            k(item.subscribed_from());
            return;
          }
        k(false);
      },
      [this, k](caf::error& err) {
        spdlog::error("{}: vhost {}: roster unavailable for an access "
                      "check: {}",
                      tag, domain, caf::to_string(err));
        k(false);
      });
}

} // namespace dja::plugins::pep
