// disco: XEP-0030 Service Discovery on the server domain. The identities
// and features are what every plugin of the vhost declared in its
// manifest, so a plugin never has to register with this one.

#include <algorithm>

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/account_features.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using reply_t = answer<xml::element_ptr>;

reply_t info(const hooks::iq_request& r, const manifest& all) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& q = reply->add_child(xml::element{"query", ns::disco_info});
  if (!r.to.local().empty()) {
    // RFC 6121 §8.5.2.1.3 / XEP-0030 §3.1: the account itself.
    q.add_child(xml::element{"identity", ns::disco_info})
      .set_attr("category", "account")
      .set_attr("type", "registered");
    q.add_child(xml::element{"feature", ns::disco_info})
      .set_attr("var", ns::disco_info);
    // XEP-0313 §7 with an archive, XEP-0357 §4 with push.
    for (auto& f : account_features(all))
      q.add_child(xml::element{"feature", ns::disco_info})
        .set_attr("var", f);
    return reply_t::handled(reply);
  }
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
    q.add_child(xml::element{"feature", ns::disco_info}).set_attr("var", f);
  return reply_t::handled(reply);
}

caf::behavior disco(caf::event_based_actor*,
                    std::shared_ptr<const manifest> all) {
  return {
    [all](const hooks::iq_request& r) -> reply_t {
      auto q = r.stanza->first_element();
      if (q->attr("node") != nullptr)
        return reply_t::handled(errors::stanza_error(*r.stanza,
                                                     "item-not-found"));
      if (q->ns == ns::disco_info)
        return info(r, *all);
      auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
      reply->add_child(xml::element{"query", ns::disco_items});
      return reply_t::handled(reply);
    },
  };
}

} // namespace

DJA_PLUGIN(disco) {
  return {
    "disco",
    "XEP-0030 Service Discovery for the server domain",
    {},
    [](const toml::table&) {
      return manifest{{},
                      {std::string{"get "} + ns::disco_info,
                       std::string{"get "} + ns::disco_items},
                      {ns::disco_info, ns::disco_items},
                      {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(disco, std::make_shared<manifest>(ctx.vhost));
    },
  };
}

} // namespace dja::plugins
