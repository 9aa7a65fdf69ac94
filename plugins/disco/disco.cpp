// disco: XEP-0030 Service Discovery on the server domain. The identities,
// features, XEP-0128 extended-information forms and items are what every
// plugin of the vhost declared in its manifest, so a plugin never has to
// register with this one. Its own options are the XEP-0157 contact
// addresses (plugins/disco/contact.hpp), declared the same way.

#include <algorithm>

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/jid.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/disco/contact.hpp"
#include "plugins/disco/forms.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using reply_t = answer<xml::element_ptr>;

xml::element& add_feature(xml::element& q, std::string var) {
  return q.add_child(xml::element{"feature", ns::disco_info})
    .set_attr("var", std::move(var));
}

reply_t account_info(const hooks::iq_request& r, const manifest& all) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& q = reply->add_child(xml::element{"query", ns::disco_info});
  // RFC 6121 §8.5.2.1.3 / XEP-0030 §3.1: the account itself.
  q.add_child(xml::element{"identity", ns::disco_info})
    .set_attr("category", "account")
    .set_attr("type", "registered");
  add_feature(q, ns::disco_info);
  // What the plugins declared for the accounts (XEP-0313 §7 archives ...).
  for (auto& f : all.account_features)
    if (f != ns::disco_info)
      add_feature(q, f);
  return reply_t::handled(reply);
}

reply_t server_info(const hooks::iq_request& r, const manifest& all) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& q = reply->add_child(xml::element{"query", ns::disco_info});
  q.add_child(xml::element{"identity", ns::disco_info})
    .set_attr("category", "server")
    .set_attr("type", "im")
    .set_attr("name", "djabberd-actors");
  for (auto& id : all.identities) {
    // "category/type/name"
    auto a = id.find('/');
    auto b = a == std::string::npos ? a : id.find('/', a + 1);
    auto& el = q.add_child(xml::element{"identity", ns::disco_info});
    el.set_attr("category", id.substr(0, a));
    if (a != std::string::npos)
      el.set_attr("type", id.substr(a + 1, b == std::string::npos
                                             ? std::string::npos
                                             : b - a - 1));
    if (b != std::string::npos)
      el.set_attr("name", id.substr(b + 1));
  }
  for (auto& f : all.features)
    add_feature(q, f);
  // XEP-0128 §2: the extended information after identities and features.
  for (auto& form : disco::info_forms(all.info_fields))
    q.add_child(std::move(form));
  return reply_t::handled(reply);
}

/// XEP-0030 §4.1: the server's items are the service domains the
/// plugins declared (`manifest::items`: a MUC service, a component, the
/// `items` option); an account has none here (PEP lists its nodes
/// before this plugin when configured before it).
reply_t items(const hooks::iq_request& r, const manifest& all) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& q = reply->add_child(xml::element{"query", ns::disco_items});
  if (r.to.local().empty())
    for (auto& j : all.items)
      q.add_child(xml::element{"item", ns::disco_items}).set_attr("jid", j);
  return reply_t::handled(reply);
}

caf::behavior serve_disco(caf::event_based_actor*,
                          std::shared_ptr<const manifest> all) {
  return {
    [all](const hooks::iq_request& r) -> reply_t {
      auto q = r.stanza->first_element();
      if (q->attr("node") != nullptr)
        return reply_t::handled(errors::stanza_error(*r.stanza,
                                                     "item-not-found"));
      if (q->ns == ns::disco_items)
        return items(r, *all);
      return r.to.local().empty() ? server_info(r, *all)
                                  : account_info(r, *all);
    },
  };
}

/// `items`: JIDs, each a valid RFC 7622 address.
std::string check_items(const toml::node& v) {
  if (auto a = v.as_array())
    for (size_t i = 0; i < a->size(); ++i)
      if (auto s = a->get(i)->value<std::string>(); s && !jid::parse(*s))
        return "an array of JIDs (item " + std::to_string(i) + ": \""
               + *s + "\" is not one)";
  return {};
}

std::vector<option_spec> options() {
  auto res = disco::contact_options();
  res.push_back({"items", option_type::string_list, false,
                 "JIDs the server's disco#items lists besides the "
                 "plugins' services (a service hosted elsewhere)",
                 check_items});
  return res;
}

} // namespace

DJA_PLUGIN(disco) {
  return {
    "disco",
    "XEP-0030 Service Discovery for the server domain, XEP-0128 extended "
    "information with the XEP-0157 contact addresses",
    options(),
    [](const toml::table& options) {
      manifest m{{},
                 {std::string{"get "} + ns::disco_info,
                  std::string{"get "} + ns::disco_items},
                 {ns::disco_info, ns::disco_items},
                 {}};
      m.info_fields = disco::contact_fields(options);
      if (auto a = options["items"].as_array())
        for (auto& v : *a)
          if (auto s = v.value<std::string>())
            if (auto j = jid::parse(*s))
              m.items.push_back(j->str());
      return m;
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(serve_disco, std::make_shared<manifest>(ctx.vhost));
    },
  };
}

} // namespace dja::plugins
