#define CAF_SUITE plugins.pep.caps_node

// plugins/pep/caps.cpp and node.cpp as plain functions: the XEP-0115 §5
// verification strings of the XEP's own examples (§5.2 simple, §5.3 with
// an extended form, xml:lang and non-ASCII names), a ver that does not
// match, the bounded cache; the XEP-0060 node configuration from data
// forms, the §7.1.5 preconditions, max_items, and the stored form.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "common/stored_xml.hpp"
#include "plugins/pep/caps.hpp"
#include "plugins/pep/node.hpp"

using namespace dja;
using namespace dja::plugins::pep;

namespace {

xml::element_ptr parse(const std::string& s) {
  auto e = xml::parse_stored(s);
  CAF_REQUIRE(e != nullptr);
  return e;
}

const char* simple = R"(<query xmlns='http://jabber.org/protocol/disco#info'>
  <identity category='client' name='Exodus 0.9.1' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
</query>)";

const char* complex = R"(<query xmlns='http://jabber.org/protocol/disco#info'>
  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
  <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
  <x xmlns='jabber:x:data' type='result'>
    <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
    <field var='ip_version'><value>ipv4</value><value>ipv6</value></field>
    <field var='os'><value>Mac</value></field>
    <field var='os_version'><value>10.5.1</value></field>
    <field var='software'><value>Psi</value></field>
    <field var='software_version'><value>0.11</value></field>
  </x>
</query>)";

form_values form(std::initializer_list<std::pair<std::string, std::string>> kv) {
  form_values f;
  for (auto& [k, v] : kv)
    f[k].push_back(v);
  return f;
}

} // namespace

CAF_TEST(xep 0115 simple example verifies) {
  auto q = parse(simple);
  CAF_CHECK_EQUAL(verification_string(*q),
                  "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
                  "http://jabber.org/protocol/disco#info<"
                  "http://jabber.org/protocol/disco#items<"
                  "http://jabber.org/protocol/muc<");
  CAF_CHECK(verified({"http://code.google.com/p/exodus",
                      "QgayPKawpkPSDYmwT/WM94uAlu0=", "sha-1"},
                     *q));
  CAF_CHECK(!verified({"n", "QgayPKawpkPSDYmwT/WM94uAlu0=", ""}, *q));
  CAF_CHECK(!verified({"n", "AAAAPKawpkPSDYmwT/WM94uAlu0=", "sha-1"}, *q));
  CAF_CHECK_EQUAL(features_of(*q)->size(), 4u);
}

CAF_TEST(xep 0115 complex example with a form verifies) {
  auto q = parse(complex);
  CAF_CHECK(verified({"http://psi-im.org", "q07IKJEyjvHSyhy//CH0CxmKi8w=",
                      "sha-1"},
                     *q));
}

CAF_TEST(caps of a presence) {
  auto p = parse("<presence><c xmlns='http://jabber.org/protocol/caps' "
                 "hash='sha-1' node='n' ver='v'/></presence>");
  auto c = caps_of(*p);
  CAF_REQUIRE(c.has_value());
  CAF_CHECK_EQUAL(c->ver, "v");
  CAF_CHECK(!caps_of(*parse("<presence/>")).has_value());
}

CAF_TEST(the caps cache is bounded) {
  caps_cache cache{2};
  auto f = features_of(*parse(simple));
  cache.put("a", f);
  cache.put("b", f);
  cache.put("c", f);
  CAF_CHECK_EQUAL(cache.size(), 2u);
  CAF_CHECK(cache.find("a") == nullptr);
  CAF_CHECK(cache.find("c") != nullptr);
}

CAF_TEST(node configuration from forms and preconditions) {
  node_config cfg;
  CAF_CHECK(!apply(cfg, form({{"pubsub#access_model", "open"},
                              {"pubsub#max_items", "max"}}),
                   50));
  CAF_CHECK(cfg.model == access::open);
  CAF_CHECK_EQUAL(cfg.max_items, 50);
  CAF_CHECK(meets(cfg, form({{"pubsub#access_model", "open"}}), 50));
  CAF_CHECK(meets(cfg, form({{"pubsub#max_items", "max"}}), 50));
  CAF_CHECK(!meets(cfg, form({{"pubsub#access_model", "presence"}}), 50));
  CAF_CHECK(!meets(cfg, form({{"pubsub#access_model", "roster"}}), 50));
  // a bad value changes nothing
  CAF_CHECK(apply(cfg, form({{"pubsub#access_model", "open"},
                             {"pubsub#max_items", "0"}}),
                  50));
  CAF_CHECK_EQUAL(cfg.max_items, 50);
  CAF_CHECK(!apply(cfg, form({{"pubsub#max_items", "1000"}}), 50));
  CAF_CHECK_EQUAL(cfg.max_items, 50);
}

CAF_TEST(items within max_items and the stored form) {
  node n;
  n.name = "urn:xmpp:test";
  n.config.max_items = 2;
  for (auto id : {"a", "b", "a", "c"})
    add_item(n, {id, "alice@localhost", xml::element{"x", "urn:xmpp:test"}});
  CAF_REQUIRE_EQUAL(n.items.size(), 2u);
  CAF_CHECK_EQUAL(n.items[0].id, "a");
  CAF_CHECK_EQUAL(n.items[1].id, "c");
  n.subscribers.insert("bob@localhost");
  n.members.insert("carol@localhost");
  auto back = deserialize(n.name, *parse(serialize(n)));
  CAF_REQUIRE(back.has_value());
  CAF_CHECK_EQUAL(back->items.size(), 2u);
  CAF_CHECK_EQUAL(back->items[1].payload.ns, "urn:xmpp:test");
  CAF_CHECK_EQUAL(back->config.max_items, 2);
  CAF_CHECK_EQUAL(back->subscribers.count("bob@localhost"), 1u);
  CAF_CHECK_EQUAL(back->members.count("carol@localhost"), 1u);
  n.config.persist_items = false;
  add_item(n, {"d", "alice@localhost", xml::element{"x", "urn:xmpp:test"}});
  CAF_CHECK_EQUAL(n.items.size(), 1u);
}
