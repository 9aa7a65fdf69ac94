#define CAF_SUITE component

// The pure parts of XEP-0114 support (actors/component/component.hpp):
// the handshake digest, the bounce of stanzas no component took, the
// directory name of a component and the table of component plugins.

#include "component/component.hpp"

#include <caf/all.hpp>
#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "common/xml.hpp"

using namespace dja;

namespace {

xml::element_ptr stanza(const char* name, const char* type) {
  auto e = std::make_shared<xml::element>(name, "jabber:client");
  e->set_attr("from", "alice@localhost/a");
  e->set_attr("to", "bot@gw.localhost");
  e->set_attr("id", "x1");
  if (*type != '\0')
    e->set_attr("type", type);
  return e;
}

} // namespace

// XEP-0114 §3: hex(SHA-1(stream id + secret)), lower case.
CAF_TEST(handshake digest) {
  CAF_CHECK_EQUAL(component::digest("3BF96D32", "sesame"),
                  "7a98dc4c9e92493d7fd66a25364c862637789c45");
  CAF_CHECK_EQUAL(component::digest("", ""),
                  "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

CAF_TEST(directory name) {
  CAF_CHECK_EQUAL(component::directory_jid("gw.localhost").str(),
                  "gw.localhost/xep-0114");
}

// RFC 6120 §8.3.3.19 to messages and requests; nothing to errors,
// results and presence.
CAF_TEST(bounce) {
  auto from = *jid::parse("alice@localhost/a");
  auto to = *jid::parse("bot@gw.localhost");
  for (auto [name, type] : {std::pair{"message", ""}, {"message", "chat"},
                            {"iq", "get"}, {"iq", "set"}}) {
    auto r = component::bounce_of(stanza(name, type), from, to);
    CAF_REQUIRE(r);
    CAF_CHECK_EQUAL(r->to.str(), from.str());
    CAF_CHECK_EQUAL(r->from.str(), to.str());
    CAF_CHECK_EQUAL(r->stanza->attr_or("type"), "error");
    CAF_CHECK_EQUAL(r->stanza->attr_or("to"), "alice@localhost/a");
    CAF_CHECK_EQUAL(r->stanza->attr_or("id"), "x1");
    auto err = r->stanza->child("error", "jabber:client");
    CAF_REQUIRE(err != nullptr);
    CAF_CHECK(err->child("service-unavailable",
                         "urn:ietf:params:xml:ns:xmpp-stanzas")
              != nullptr);
  }
  for (auto [name, type] : {std::pair{"message", "error"}, {"iq", "result"},
                            {"iq", "error"}, {"presence", ""},
                            {"presence", "unavailable"}})
    CAF_CHECK(!component::bounce_of(stanza(name, type), from, to));
}

CAF_TEST(plugin table) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto idle = [](caf::event_based_actor*) -> caf::behavior {
    return {[](int) {}};
  };
  auto vhost1 = sys.spawn(idle);
  auto vhost2 = sys.spawn(idle);
  auto plugin = sys.spawn(idle);
  CAF_CHECK(component::plugin_of(vhost1) == nullptr);
  component::set_plugin(vhost1, plugin);
  CAF_CHECK(component::plugin_of(vhost1) == plugin);
  CAF_CHECK(component::plugin_of(vhost2) == nullptr);
  for (auto& a : {vhost1, vhost2, plugin})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
