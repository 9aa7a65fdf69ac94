// The PEP feature actor (serve.hpp, state.hpp): XEP-0163 Personal
// Eventing Protocol for the accounts of one vhost. This file: the plugin
// type and its options, the dispatch of the iqs to a user's bare JID
// (XEP-0060 pubsub and pubsub#owner, XEP-0030 disco of the account,
// XEP-0411 bookmarks in private storage), node loading and storing
// within the bounds, and the XEP-0060 error shapes.

#include "plugins/pep/serve.hpp"

#include "plugins/common/account_features.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "plugins/common/bounded_option.hpp"
#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

namespace {

constexpr const char* ns_private = "jabber:iq:private";

/// XEP-0060 §10 features this service implements (XEP-0163 §6.1),
/// XEP-0402 §3's compat feature (bookmarks.cpp) and XEP-0398's
/// (avatar.cpp).
const std::vector<std::string>& account_features() {
  static const std::vector<std::string> fs = [] {
    std::vector<std::string> out{ns::disco_info, ns::disco_items,
                                 "urn:xmpp:bookmarks:1#compat",
                                 "urn:xmpp:pep-vcard-conversion:0"};
    for (auto* f : {"access-open", "access-presence", "access-whitelist",
                    "auto-create", "auto-subscribe", "config-node",
                    "create-nodes", "delete-items", "delete-nodes",
                    "filtered-notifications", "item-ids", "last-published",
                    "persistent-items", "presence-notifications",
                    "publish", "publish-options", "purge-nodes",
                    "retract-items", "retrieve-items", "subscribe"})
      out.push_back(std::string{ns_pubsub} + "#" + f);
    out.emplace_back(ns_pubsub);
    return out;
  }();
  return fs;
}

caf::behavior serve(pep_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<docs::store> db, bounds b,
                    caf::actor vhost, std::vector<std::string> more) {
  auto& st = self->state;
  st.self = self;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.limits = b;
  st.caps = caps_cache{static_cast<size_t>(b.caps_cache)};
  st.vhost = std::move(vhost);
  st.more_features = std::move(more);
  docs::start(*st.db, st.tag, st.domain);
  using filter_answer = hooks::answer<hooks::filter_verdict>;
  return {
    [self](const hooks::iq_request& r) -> caf::result<reply_t> {
      auto type = r.stanza->attr_or("type");
      if (type == "result" || type == "error") {
        // The answer to a caps query of ours (notify.cpp), or another
        // plugin's.
        return self->state.on_response(r) ? reply_t::handled(nullptr)
                                          : reply_t::decline();
      }
      if (r.to.domain() != self->state.domain || r.to.local().empty())
        return reply_t::decline(); // the server's own disco etc.
      return self->state.handle(r);
    },
    [self](const hooks::session_bound& b) { self->state.on_bound(b); },
    [self](const hooks::session_closed& c) { self->state.on_closed(c); },
    [self](last_items_atom, const jid& full) {
      self->state.features_known(full);
    },
    [self](const hooks::presence_alter_available& p) {
      self->state.on_available(p);
      return filter_answer::decline();
    },
    [self](const hooks::presence_alter_unavailable& p) {
      self->state.on_unavailable(p);
      return filter_answer::decline();
    },
  };
}

} // namespace

reply_t error(const hooks::iq_request& r, const char* cond, const char* app,
              const std::string& feature) {
  auto e = errors::stanza_error(*r.stanza, cond);
  if (*app == '\0')
    return reply_t::handled(e);
  auto out = std::make_shared<xml::element>(*e);
  // The copy shares its children with `e`: the <error/> is replaced, not
  // changed in place.
  for (auto& c : out->children)
    if (c.elem && c.elem->name == "error") {
      auto err = std::make_shared<xml::element>(*c.elem);
      // XEP-0060 §6.2.3.2: "cancel" (RFC 6120's usual type is "wait").
      if (std::string_view{cond} == "unexpected-request")
        err->set_attr("type", "cancel");
      auto& a = err->add_child(xml::element{app, ns_errors});
      if (!feature.empty())
        a.set_attr("feature", feature);
      c.elem = err;
    }
  return reply_t::handled(out);
}

reply_t result_with(const hooks::iq_request& r, const char* ns,
                    xml::element child) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  reply->add_child(xml::element{"pubsub", ns}).add_child(std::move(child));
  return reply_t::handled(reply);
}

caf::result<reply_t> pep_state::handle(const hooks::iq_request& r) {
  auto q = r.stanza->first_element();
  if (q == nullptr)
    return reply_t::decline();
  if (q->ns == ns_pubsub)
    return pubsub(r, *q);
  if (q->ns == ns_owner)
    return owner(r, *q);
  if (q->ns == ns_private)
    return private_xml(r, *q);
  if (q->ns == ns::disco_info)
    return disco_info(r, *q);
  if (q->ns == ns::disco_items && q->attr("node") == nullptr)
    return disco_items(r);
  return reply_t::decline();
}

reply_t pep_state::disco_info(const hooks::iq_request& r,
                              const xml::element& q) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& out = reply->add_child(xml::element{"query", ns::disco_info});
  if (auto name = q.attr("node")) {
    // XEP-0060 §5.3: a node's identity.
    auto n = load(r.to.local(), *name);
    if (!n)
      return error(r, "internal-server-error");
    if (!*n)
      return error(r, "item-not-found");
    out.set_attr("node", *name);
    out.add_child(xml::element{"identity", ns::disco_info})
      .set_attr("category", "pubsub")
      .set_attr("type", "leaf");
    out.add_child(xml::element{"feature", ns::disco_info})
      .set_attr("var", ns_pubsub);
    return reply_t::handled(reply);
  }
  // XEP-0163 §6.1 and RFC 6121 §8.5.2.1.3: the account, and its PEP
  // service.
  out.add_child(xml::element{"identity", ns::disco_info})
    .set_attr("category", "account")
    .set_attr("type", "registered");
  out.add_child(xml::element{"identity", ns::disco_info})
    .set_attr("category", "pubsub")
    .set_attr("type", "pep");
  for (auto& f : account_features())
    out.add_child(xml::element{"feature", ns::disco_info}).set_attr("var", f);
  for (auto& f : more_features)
    out.add_child(xml::element{"feature", ns::disco_info}).set_attr("var", f);
  return reply_t::handled(reply);
}

reply_t pep_state::disco_items(const hooks::iq_request& r) {
  // XEP-0163 §6.1 / XEP-0060 §5.2: the nodes; others see the open ones.
  auto names = node_sizes(r.to.local());
  if (!names)
    return error(r, "internal-server-error");
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& out = reply->add_child(xml::element{"query", ns::disco_items});
  bool own = docs::own(r);
  for (auto& [name, size] : *names) {
    if (!own) {
      auto n = load(r.to.local(), name);
      if (!n || !*n || (*n)->config.model != access::open)
        continue;
    }
    out.add_child(xml::element{"item", ns::disco_items})
      .set_attr("jid", r.to.bare().str())
      .set_attr("node", name);
  }
  return reply_t::handled(reply);
}

caf::expected<std::optional<node>> pep_state::load(const std::string& owner,
                                                   const std::string& name) {
  auto doc = docs::parsed(db->get(owner, name), tag, domain, "load", owner);
  if (!doc)
    return doc.error();
  if (!*doc)
    return std::optional<node>{};
  auto n = deserialize(name, **doc);
  if (!n)
    return docs::failed(tag, domain, "load",
                        caf::make_error(caf::sec::runtime_error,
                                        "stored node " + name + " of "
                                          + owner + " is not a node"));
  return std::optional<node>{std::move(*n)};
}

caf::error pep_state::save(const std::string& owner, const node& n) {
  if (auto err = db->put(owner, {{n.name, serialize(n)}}, docs::unix_now()))
    return docs::failed(tag, domain, "store", err);
  return {};
}

caf::expected<std::map<std::string, int64_t>>
pep_state::node_sizes(const std::string& owner) {
  auto s = db->sizes(owner);
  if (!s)
    return docs::failed(tag, domain, "list", s.error());
  return s;
}

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open) {
  auto add = [&](const char* key, const char* doc) {
    store_options.push_back({key, option_type::integer, false, doc});
  };
  add("max_items", "items kept per node at most, what pubsub#max_items "
                   "'max' means (default 256)");
  add("max_nodes", "nodes per account (default 256); a publish that would "
                   "create one more gets <not-allowed/> + "
                   "<max-nodes-exceeded/>");
  add("max_payload_bytes", "largest item payload, serialized (default "
                           "131072); larger: <not-acceptable/> + "
                           "<payload-too-big/>");
  add("quota", "bytes of PEP data kept per account, all nodes together "
               "(default 8388608 = 8 MiB, 0 = no limit)");
  add("caps_cache", "XEP-0115 verification strings whose features are "
                    "kept (default 1000)");
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) {
      manifest m;
      m.hooks = {hooks::id<hooks::session_bound>,
                 hooks::id<hooks::session_closed>,
                 hooks::id<hooks::presence_alter_available>,
                 hooks::id<hooks::presence_alter_unavailable>};
      for (auto* ns : {ns_pubsub, ns_owner, ns_private})
        for (auto* t : {"get ", "set "})
          m.iqs.push_back(std::string{t} + ns);
      m.iqs.push_back(std::string{"get "} + ns::disco_info);
      m.iqs.push_back(std::string{"get "} + ns::disco_items);
      // The answers to its XEP-0115 caps queries.
      m.iqs.push_back(std::string{"result "} + ns::disco_info);
      m.iqs.push_back(std::string{"error "} + ns::disco_info);
      return m;
    },
    [name, open](const spawn_context& ctx) {
      bounds b;
      auto at_least = [&](const char* key, int64_t fallback, int64_t min) {
        return bounded_option(ctx, name, key, fallback, min);
      };
      b.max_items = at_least("max_items", b.max_items, 1);
      b.max_nodes = at_least("max_nodes", b.max_nodes, 1);
      b.max_payload = at_least("max_payload_bytes", b.max_payload, 1);
      b.quota = at_least("quota", b.quota, 0);
      b.caps_cache = at_least("caps_cache", b.caps_cache, 0);
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         b, ctx.vhost_actor,
                         plugins::account_features(ctx.vhost));
    },
  };
}

} // namespace dja::plugins::pep
