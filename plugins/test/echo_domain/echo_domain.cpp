// test.echo_domain: for tests only. A service domain (`domain.stanza`,
// actors/hooks/catalogue.hpp) that shows the path a MUC service or a
// component takes: every stanza addressed to its domain comes here, and
// what it sends goes back out through the router (spawn_context::router).
//  - a message with a body: answered from the addressed JID with
//    "echo: BODY" (type kept);
//  - an iq get/set: answered with a result carrying the request's
//    payload back (disco#info on the domain: an identity
//    component/generic "echo");
//  - an available presence: answered with available presence from the
//    addressed JID; an unavailable one: with unavailable;
//  - anything else (errors, results): dropped.

#include <memory>
#include <string>

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

/// The reply to `s`, or null when nothing is answered.
xml::element_ptr echo(const xml::element& s, const jid& to) {
  auto type = s.attr_or("type");
  if (type == "error" || type == "result")
    return nullptr;
  if (s.name == "iq") {
    auto out = std::make_shared<xml::element>(errors::iq_result(s));
    if (auto q = s.first_element()) {
      auto& copy = out->add_child(xml::element{q->name, q->ns});
      if (q->ns == "http://jabber.org/protocol/disco#info" && to.local().empty()) {
        auto& id = copy.add_child(xml::element{"identity", q->ns});
        id.set_attr("category", "component");
        id.set_attr("type", "generic");
        id.set_attr("name", "echo");
      }
    }
    return out;
  }
  auto out = std::make_shared<xml::element>(s.name, ns::client);
  out->set_attr("from", to.str());
  out->set_attr("to", s.attr_or("from"));
  if (s.name == "message") {
    auto body = s.child("body", s.ns);
    if (body == nullptr)
      return nullptr;
    if (!type.empty())
      out->set_attr("type", type);
    out->add_child(xml::element{"body", ns::client})
      .add_text("echo: " + body->text());
    return out;
  }
  if (s.name == "presence" && (type.empty() || type == "unavailable")) {
    if (!type.empty())
      out->set_attr("type", type);
    return out;
  }
  return nullptr;
}

caf::behavior test_echo_domain(caf::event_based_actor*,
                               std::shared_ptr<const router_ref> router) {
  return {
    [router](const hooks::domain_stanza& d) {
      auto reply = echo(*d.stanza, d.to);
      if (reply == nullptr || router == nullptr)
        return;
      caf::anon_send(router->shard_for(d.from),
                     msg::route{std::move(reply), d.to, d.from});
    },
  };
}

} // namespace

DJA_PLUGIN(test_echo_domain) {
  return {
    "test.echo_domain",
    "tests only: a service domain that echoes what is sent to it",
    {},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::domain_stanza>}, {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(test_echo_domain, ctx.router);
    },
  };
}

} // namespace dja::plugins
