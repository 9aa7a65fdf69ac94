#define CAF_SUITE cluster.directory

// The session directory's merge and removal rules, the conflict order,
// and the wire format of the cluster messages.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "cluster/directory.hpp"
#include "cluster/messages.hpp"
#include "cluster/wire_xml.hpp"

using namespace dja;
using namespace dja::cluster;

namespace {

entry E(std::string node, std::string resource, uint64_t stamp = 1,
        bool available = false, int priority = 0) {
  entry e;
  e.node = std::move(node);
  e.resource = std::move(resource);
  e.stamp = stamp;
  e.available = available;
  e.priority = priority;
  return e;
}

} // namespace

CAF_TEST(upsert and find) {
  directory d;
  d.upsert("alice@x", E("n1", "a"));
  d.upsert("alice@x", E("n2", "b"));
  d.upsert("bob@x", E("n2", "c"));
  CAF_CHECK_EQUAL(d.find("alice@x").size(), 2u);
  CAF_CHECK_EQUAL(d.find("carol@x").size(), 0u);
  CAF_CHECK_EQUAL(d.size(), 3u);
  // The same (bare, resource, node) is replaced, not added.
  d.upsert("alice@x", E("n1", "a", 5, true, 3));
  CAF_CHECK_EQUAL(d.size(), 3u);
  auto a = d.find_full("alice@x", "a");
  CAF_REQUIRE(a.has_value());
  CAF_CHECK_EQUAL(a->stamp, 5u);
  CAF_CHECK_EQUAL(a->priority, 3);
  auto counts = d.counts();
  CAF_CHECK_EQUAL(counts["n1"], 1u);
  CAF_CHECK_EQUAL(counts["n2"], 2u);
}

CAF_TEST(presence updates need an entry) {
  directory d;
  CAF_CHECK(!d.set_presence("alice@x", "a", "n1", true, 1, nullptr));
  d.upsert("alice@x", E("n1", "a"));
  auto p = std::make_shared<xml::element>("presence", "jabber:client");
  CAF_CHECK(d.set_presence("alice@x", "a", "n1", true, 7, p));
  auto e = d.find_full("alice@x", "a");
  CAF_CHECK(e->available);
  CAF_CHECK_EQUAL(e->priority, 7);
  CAF_CHECK(e->presence == p);
  // Unavailable drops the stored presence (probes get nothing).
  CAF_CHECK(d.set_presence("alice@x", "a", "n1", false, 0, p));
  CAF_CHECK(d.find_full("alice@x", "a")->presence == nullptr);
}

CAF_TEST(remove one entry) {
  directory d;
  d.upsert("alice@x", E("n1", "a"));
  d.upsert("alice@x", E("n2", "a", 2));
  // Only the entry of that node goes.
  CAF_CHECK(d.remove("alice@x", "a", "n1").has_value());
  CAF_CHECK(!d.remove("alice@x", "a", "n1").has_value());
  CAF_CHECK_EQUAL(d.find_full("alice@x", "a")->node, "n2");
  CAF_CHECK(d.remove("alice@x", "a", "n2").has_value());
  CAF_CHECK_EQUAL(d.size(), 0u);
  CAF_CHECK(d.counts().empty());
}

CAF_TEST(a lost node takes all its entries) {
  directory d;
  d.upsert("alice@x", E("n1", "a"));
  d.upsert("alice@x", E("n2", "b"));
  d.upsert("bob@x", E("n2", "c"));
  d.upsert("bob@x", E("n2", "d"));
  auto gone = d.remove_node("n2");
  CAF_CHECK_EQUAL(gone.size(), 3u);
  CAF_CHECK_EQUAL(d.size(), 1u);
  CAF_CHECK(d.find("bob@x").empty());
  CAF_CHECK_EQUAL(d.find("alice@x").size(), 1u);
  CAF_CHECK(d.remove_node("n2").empty());
  CAF_CHECK_EQUAL(d.counts().count("n2"), 0u);
}

CAF_TEST(a snapshot replaces the node and reports what is gone) {
  directory d;
  d.upsert("alice@x", E("n2", "a"));
  d.upsert("bob@x", E("n2", "b"));
  d.upsert("carol@x", E("n3", "c"));
  std::vector<directory::item> snap;
  snap.emplace_back("alice@x", E("n2", "a", 9));
  snap.emplace_back("dave@x", E("ignored", "d")); // node name is forced
  auto gone = d.replace_node("n2", std::move(snap));
  CAF_REQUIRE_EQUAL(gone.size(), 1u);
  CAF_CHECK_EQUAL(gone[0].first, "bob@x");
  CAF_CHECK_EQUAL(d.find_full("alice@x", "a")->stamp, 9u);
  CAF_CHECK_EQUAL(d.find_full("dave@x", "d")->node, "n2");
  CAF_CHECK(d.find("bob@x").empty());
  CAF_CHECK_EQUAL(d.find("carol@x").size(), 1u); // other nodes untouched
  CAF_CHECK_EQUAL(d.counts()["n2"], 2u);
}

CAF_TEST(the later bind wins and node names break ties) {
  CAF_CHECK(newer(2, "n1", 1, "n2"));
  CAF_CHECK(!newer(1, "n2", 2, "n1"));
  CAF_CHECK(newer(5, "n2", 5, "n1"));
  CAF_CHECK(!newer(5, "n1", 5, "n2"));
  CAF_CHECK(!newer(5, "n1", 5, "n1"));
  directory d;
  d.upsert("alice@x", E("n1", "a", 10));
  d.upsert("alice@x", E("n3", "a", 12));
  d.upsert("alice@x", E("n2", "a", 12));
  CAF_CHECK_EQUAL(d.find_full("alice@x", "a")->node, "n3");
  CAF_CHECK_EQUAL(d.max_stamp("alice@x", "a"), 12u);
  CAF_CHECK_EQUAL(d.max_stamp("alice@x", "zz"), 0u);
}

CAF_TEST(stanzas survive the wire) {
  auto m = std::make_shared<xml::element>("message", "jabber:client");
  m->set_attr("to", "bob@x/r").set_attr("type", "chat");
  m->add_child(xml::element{"body", "jabber:client"}).add_text("a < b & 'c'");
  m->add_child(xml::element{"x", "urn:example"}).set_attr("k", "\"v\"");
  auto text = wire_xml::serialize(*m);
  auto back = wire_xml::parse(text);
  CAF_REQUIRE(back != nullptr);
  CAF_CHECK_EQUAL(back->ns, "jabber:client");
  CAF_CHECK_EQUAL(back->attr_or("to"), "bob@x/r");
  CAF_CHECK_EQUAL(back->child("body", "jabber:client")->text(), "a < b & 'c'");
  CAF_CHECK_EQUAL(back->child("x", "urn:example")->attr_or("k"), "\"v\"");
  CAF_CHECK_EQUAL(wire_xml::serialize(*back), text);
  CAF_CHECK(wire_xml::parse("<message><body>") == nullptr);
  CAF_CHECK(wire_xml::parse("<a/><b/>") == nullptr);
  CAF_CHECK(wire_xml::parse("not xml") == nullptr);
  CAF_CHECK(wire_xml::parse("<!DOCTYPE x><a/>") == nullptr);
}

CAF_TEST(wire messages serialize) {
  update u;
  u.node = "n1";
  u.op = update::presence;
  u.entry = wire_entry{"alice@x", "a", 42, true, -3, "<presence/>"};
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  CAF_CHECK(!sink(u));
  update v;
  caf::binary_deserializer source{nullptr, buf};
  CAF_CHECK(!source(v));
  CAF_CHECK_EQUAL(v.node, "n1");
  CAF_CHECK_EQUAL(v.op, update::presence);
  CAF_CHECK_EQUAL(v.entry.bare, "alice@x");
  CAF_CHECK_EQUAL(v.entry.stamp, 42u);
  CAF_CHECK_EQUAL(v.entry.priority, -3);
  CAF_CHECK_EQUAL(v.entry.presence, "<presence/>");
}
