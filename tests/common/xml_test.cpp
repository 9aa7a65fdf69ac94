#define CAF_SUITE common.xml

#include "common/xml.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>
#include <vector>

#include "common/stream_parser.hpp"

using namespace dja::xml;

namespace {

const char* stream_open = "<stream:stream xmlns='jabber:client' "
                          "xmlns:stream='http://etherx.jabber.org/streams'>";

/// Parses one stanza (wrapped in a client stream) and returns it, or
/// nullptr when it does not parse to exactly one stanza.
element_ptr parse_one(const std::string& stanza) {
  stream_parser p{1 << 20};
  std::vector<stream_event> evs;
  auto in = stream_open + stanza;
  if (p.feed(in.data(), in.size(), evs) != parse_error::none
      || evs.size() != 2 || evs[1].kind != stream_event::stanza)
    return nullptr;
  return evs[1].elem;
}

/// Serializes `e`, parses the result and serializes again.
std::string round_trip(const element& e) {
  auto parsed = parse_one(to_string(e));
  return parsed ? to_string(*parsed) : "<parse failed>";
}

} // namespace

CAF_TEST(escape) {
  CAF_CHECK_EQUAL(escape(""), "");
  CAF_CHECK_EQUAL(escape("plain text"), "plain text");
  CAF_CHECK_EQUAL(escape("<a href=\"x\">'&'</a>"),
                  "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  CAF_CHECK_EQUAL(escape("&amp;"), "&amp;amp;");
  CAF_CHECK_EQUAL(escape("caf\xC3\xA9 \xF0\x9F\x98\x80"),
                  "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // Characters XML 1.0 cannot carry are dropped.
  CAF_CHECK_EQUAL(escape(std::string{"a\x01" "b\0c", 5}), "abc");
}

CAF_TEST(element accessors) {
  element e{"message", "jabber:client"};
  e.set_attr("to", "a@b").set_attr("type", "chat");
  CAF_REQUIRE(e.attr("to") != nullptr);
  CAF_CHECK_EQUAL(*e.attr("to"), "a@b");
  CAF_CHECK(e.attr("from") == nullptr);
  CAF_CHECK_EQUAL(e.attr_or("type"), "chat");
  CAF_CHECK_EQUAL(e.attr_or("id", "none"), "none");
  e.set_attr("to", "c@d");
  CAF_CHECK_EQUAL(e.attrs.size(), 2u);
  CAF_CHECK_EQUAL(e.attr_or("to"), "c@d");
  e.remove_attr("to");
  CAF_CHECK_EQUAL(e.attrs.size(), 1u);
  CAF_CHECK(e.attr("to") == nullptr);
  CAF_CHECK(e.first_element() == nullptr);
  e.add_text("Hi ");
  auto& body = e.add_child(element{"body", "jabber:client"});
  body.add_text("one").add_text(" two");
  CAF_CHECK_EQUAL(body.children.size(), 1u); // adjacent text merged
  e.add_child(element{"x", "jabber:x:oob"}).add_text("url");
  e.add_text("there");
  CAF_CHECK_EQUAL(e.text(), "Hi there");
  CAF_CHECK_EQUAL(e.elements().size(), 2u);
  CAF_REQUIRE(e.first_element() != nullptr);
  CAF_CHECK_EQUAL(e.first_element()->name, "body");
  CAF_REQUIRE(e.child("body") != nullptr);
  CAF_CHECK_EQUAL(e.child("body")->text(), "one two");
  CAF_CHECK(e.child("body", "jabber:client") != nullptr);
  CAF_CHECK(e.child("body", "jabber:x:oob") == nullptr);
  CAF_CHECK(e.child("x", "jabber:x:oob") != nullptr);
  CAF_CHECK(e.child("nope") == nullptr);
  e.child("x")->set_attr("a", "b");
  const element& ce = e;
  CAF_CHECK_EQUAL(ce.child("x")->attr_or("a"), "b");
}

CAF_TEST(serialize) {
  element e{"message", "jabber:client"};
  CAF_CHECK_EQUAL(to_string(e), "<message/>");
  CAF_CHECK_EQUAL(to_string(e, "jabber:server"),
                  "<message xmlns='jabber:client'/>");
  e.set_attr("to", "juliet@example.com").set_attr("id", "a'b\"c<&>");
  e.attrs.push_back(attribute{"xml:lang", "en", ""});
  auto& body = e.add_child(element{"body", "jabber:client"});
  body.add_text("1 < 2 & 'x' > \"y\"");
  auto& x = e.add_child(element{"x", "jabber:x:data"});
  x.set_attr("type", "form");
  x.add_child(element{"field", "jabber:x:data"});
  x.add_child(element{"n", ""});
  CAF_CHECK_EQUAL(to_string(e),
                  "<message to='juliet@example.com' "
                  "id='a&apos;b&quot;c&lt;&amp;&gt;' xml:lang='en'>"
                  "<body>1 &lt; 2 &amp; &apos;x&apos; &gt; &quot;y&quot;"
                  "</body><x xmlns='jabber:x:data' type='form'><field/>"
                  "<n xmlns=''/></x></message>");
  // The default namespace goes back to the parent's after a child.
  element iq{"iq", "jabber:client"};
  iq.add_child(element{"query", "jabber:iq:roster"})
    .add_child(element{"item", "jabber:iq:roster"});
  iq.add_child(element{"error", "jabber:client"});
  CAF_CHECK_EQUAL(to_string(iq), "<iq><query xmlns='jabber:iq:roster'>"
                                 "<item/></query><error/></iq>");
  std::string out = "prefix:";
  serialize(iq, out, "jabber:component:accept");
  CAF_CHECK_EQUAL(out.substr(0, 32), "prefix:<iq xmlns='jabber:client'");
}

CAF_TEST(serialize namespaced attributes) {
  element e{"c", "urn:x"};
  e.attrs.push_back(attribute{"a", "1", "urn:one"});
  e.attrs.push_back(attribute{"b", "2", "urn:two"});
  e.attrs.push_back(attribute{"c", "3", "urn:one"});
  e.attrs.push_back(attribute{"lang", "de",
                              "http://www.w3.org/XML/1998/namespace"});
  e.attrs.push_back(attribute{"plain", "4", ""});
  e.attrs.push_back(attribute{"xmlns", "urn:ignored", ""});
  e.attrs.push_back(attribute{"xmlns:p", "urn:ignored", ""});
  CAF_CHECK_EQUAL(to_string(e, "urn:x"),
                  "<c xmlns:a0='urn:one' a0:a='1' xmlns:a1='urn:two' "
                  "a1:b='2' a0:c='3' xml:lang='de' plain='4'/>");
  CAF_CHECK_EQUAL(round_trip(e),
                  "<c xmlns='urn:x' xmlns:a0='urn:one' a0:a='1' "
                  "xmlns:a1='urn:two' a1:b='2' a0:c='3' xml:lang='de' "
                  "plain='4'/>");
}

CAF_TEST(round trips) {
  element e{"message", "jabber:client"};
  e.set_attr("to", "a@b/r").set_attr("q", "it's \"quoted\" & <tagged>");
  e.set_attr("ws", "tab\tnl\ncr\rend");
  e.attrs.push_back(attribute{"xml:lang", "fr", ""});
  e.add_child(element{"body", "jabber:client"})
    .add_text("caf\xC3\xA9 &amp; <b>bold</b> ]]> \xF0\x9F\x98\x80\r\n'\"");
  auto& html
    = e.add_child(element{"html", "http://jabber.org/protocol/xhtml-im"});
  auto& hb = html.add_child(element{"body", "http://www.w3.org/1999/xhtml"});
  hb.add_child(element{"p", "http://www.w3.org/1999/xhtml"})
    .add_text("Hi ")
    .add_child(element{"em", "http://www.w3.org/1999/xhtml"})
    .add_text("there");
  e.add_child(element{"empty", ""});
  auto text = to_string(e);
  auto parsed = parse_one(text);
  CAF_REQUIRE(parsed != nullptr);
  CAF_CHECK_EQUAL(to_string(*parsed), text);
  CAF_CHECK_EQUAL(parsed->attr_or("q"), "it's \"quoted\" & <tagged>");
  CAF_CHECK_EQUAL(parsed->attr_or("ws"), "tab\tnl\ncr\rend");
  CAF_CHECK_EQUAL(parsed->attr_or("xml:lang"), "fr");
  CAF_REQUIRE(parsed->child("body") != nullptr);
  CAF_CHECK_EQUAL(parsed->child("body")->text(),
                  "caf\xC3\xA9 &amp; <b>bold</b> ]]> \xF0\x9F\x98\x80\r\n'\"");
  CAF_REQUIRE(parsed->child("empty", "") != nullptr);
  CAF_CHECK_EQUAL(parsed->child("empty")->ns, "");
  // And text written by hand with all the escapes parses back to itself.
  auto p2 = parse_one("<message><body>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;"
                      "</body></message>");
  CAF_REQUIRE(p2 != nullptr);
  CAF_CHECK_EQUAL(p2->child("body")->text(), "<>&\"'AB");
  CAF_CHECK_EQUAL(to_string(*p2), "<message><body>&lt;&gt;&amp;&quot;"
                                  "&apos;AB</body></message>");
}

CAF_TEST(namespace declarations are not repeated) {
  // A prefix declared on an element stays in scope for its subtree.
  element e{"c", "urn:x"};
  e.attrs.push_back(attribute{"a", "1", "urn:one"});
  e.add_child(element{"d", "urn:x"})
    .attrs.push_back(attribute{"b", "2", "urn:one"});
  CAF_CHECK_EQUAL(to_string(e, "urn:x"),
                  "<c xmlns:a0='urn:one' a0:a='1'><d a0:b='2'/></c>");
  CAF_CHECK_EQUAL(round_trip(e), "<c xmlns='urn:x' xmlns:a0='urn:one' "
                                 "a0:a='1'><d a0:b='2'/></c>");
}

CAF_TEST(serializer does not amplify) {
  // One long prefix declared on the stanza and used by 850 children (on
  // an attribute, then on the element itself): written naively, each
  // child would repeat the 2 KB namespace name.
  std::string ns = "urn:" + std::string(2000, 'n');
  for (auto on_attr : {true, false}) {
    std::string in = "<message xmlns:p='" + ns + "'><body>";
    for (int i = 0; i < 850; ++i)
      in += on_attr ? "<c p:a='1'/>" : "<p:c/>";
    in += "</body></message>";
    auto parsed = parse_one(in);
    CAF_REQUIRE(parsed != nullptr);
    auto out = to_string(*parsed);
    CAF_MESSAGE(in.size() << " bytes in, " << out.size() << " out");
    CAF_CHECK_LESS_OR_EQUAL(out.size(), 2 * in.size());
    // ... and it means the same.
    auto again = parse_one(out);
    CAF_REQUIRE(again != nullptr);
    CAF_CHECK_EQUAL(to_string(*again), out);
    auto kids = again->child("body")->elements();
    CAF_REQUIRE_EQUAL(kids.size(), 850u);
    CAF_CHECK_EQUAL(kids.back()->ns, on_attr ? "jabber:client" : ns);
    if (on_attr)
      CAF_CHECK_EQUAL(kids.back()->attrs.at(0).ns, ns);
  }
  // Siblings each in a new long default namespace (as written) keep it.
  element m{"message", "jabber:client"};
  for (int i = 0; i < 4; ++i)
    m.add_child(element{"x", "urn:" + std::to_string(i) + std::string(50, 'y')});
  CAF_CHECK_EQUAL(to_string(m).find("xmlns:"), std::string::npos);
}
