#define CAF_SUITE common.stream_parser

#include "common/stream_parser.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <malloc.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace dja::xml;

namespace {

constexpr std::size_t big = 1 << 20;

const std::string header
  = "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'>";

/// A client stream using most of what XMPP streams contain.
const std::string client_stream
  = "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream to='example.com' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
    "xml:lang='en'>"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>\n \n"
    "<message to='juliet@example.com/balcony' type='chat' id='m&amp;1' "
    "xml:lang='fr' a='x &gt; y &#38; z'>"
    "<body>Caf&#233; &amp; cr&#xE8;me &lt;b&gt; &quot;q&quot; &apos;a&apos;"
    " \xC3\xBCn\xC3\xAF\xE2\x80\x94 \xF0\x9F\x98\x80 a > b</body>"
    "<html xmlns='http://jabber.org/protocol/xhtml-im'>"
    "<body xmlns='http://www.w3.org/1999/xhtml'><p>Hi <em>there</em>!</p>"
    "</body></html>"
    "<ext:data xmlns:ext='urn:example:ext' ext:kind='k' plain='p'>"
    "<ext:item>1</ext:item><item>2</item></ext:data>"
    "</message>"
    " "
    "<message id='c1' n='\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80'>"
    "<body><![CDATA[<not> & \xC3\xA9 markup ]] >]]> tail</body>"
    "<thread>t\xE2\x82\xAC</thread></message>\t"
    "<presence><show>away</show><status>gone &gt; fishing</status>"
    "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' "
    "ver='v=='/></presence>\r\n"
    "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>r&#x0A;es</resource></bind></iq>"
    " </stream:stream>";

std::string describe(const stream_event& ev) {
  switch (ev.kind) {
    case stream_event::open: {
      auto res = "open " + ev.header.name + " ns=" + ev.header.ns
                 + " default=" + ev.header.default_ns;
      for (auto& a : ev.header.attrs)
        res += " " + a.name + "=" + a.value;
      return res;
    }
    case stream_event::stanza:
      return to_string(*ev.elem);
    default:
      return "close";
  }
}

struct result {
  std::vector<std::string> events;
  parse_error err = parse_error::none;
  std::size_t fed = 0;          // bytes fed until the error
  std::size_t hibernations = 0; // times the parser hibernated
};

/// With `hibernate`, hibernates the parser whenever it can between chunks.
void maybe_hibernate(stream_parser& p, bool hibernate, result& res) {
  if (hibernate && p.can_hibernate() && !p.hibernated()) {
    p.hibernate();
    CAF_CHECK(p.hibernated());
    CAF_CHECK(p.in_stream());
    ++res.hibernations;
  }
}

/// Feeds `in` in chunks of at most `chunk` bytes.
result run(const std::string& in, std::size_t chunk = 0,
           std::size_t max = big, bool hibernate = false) {
  stream_parser p{max};
  result res;
  std::vector<stream_event> evs;
  if (chunk == 0)
    chunk = in.size();
  for (std::size_t i = 0; i < in.size() && res.err == parse_error::none;
       i += chunk) {
    auto n = std::min(chunk, in.size() - i);
    res.err = p.feed(in.data() + i, n, evs);
    res.fed = i + n;
    maybe_hibernate(p, hibernate, res);
  }
  for (auto& ev : evs)
    res.events.push_back(describe(ev));
  return res;
}

/// Feeds `in` in two chunks split at `at`.
result run_split(const std::string& in, std::size_t at,
                 std::size_t max = big, bool hibernate = false) {
  stream_parser p{max};
  result res;
  std::vector<stream_event> evs;
  res.err = p.feed(in.data(), at, evs);
  res.fed = at;
  if (res.err == parse_error::none) {
    maybe_hibernate(p, hibernate, res);
    res.err = p.feed(in.data() + at, in.size() - at, evs);
    res.fed = in.size();
  }
  for (auto& ev : evs)
    res.events.push_back(describe(ev));
  return res;
}

std::string err_of(const std::string& in, std::size_t max = big) {
  auto whole = run(in, 0, max);
  auto bytewise = run(in, 1, max);
  if (whole.err != bytewise.err)
    return "whole: " + std::string{to_condition(whole.err)}
           + " bytewise: " + to_condition(bytewise.err);
  return to_condition(whole.err);
}

std::string join(const std::vector<std::string>& xs) {
  std::string res;
  for (auto& x : xs)
    res += x + "\n";
  return res;
}

/// Everything a run reports.
std::string outcome(const result& r) {
  return "error '" + std::string{to_condition(r.err)}
         + "' fed=" + std::to_string(r.fed) + "\n" + join(r.events);
}

/// Empty if hibernating wherever possible changes nothing, for `in` fed
/// in chunks of several sizes and (with `splits`) split in two anywhere;
/// otherwise the first difference.
std::string hibernation_diff(const std::string& in, std::size_t max = big,
                             bool splits = true) {
  for (std::size_t chunk : {0, 1, 2, 3, 7, 64, 4096}) {
    auto a = outcome(run(in, chunk, max));
    auto b = outcome(run(in, chunk, max, true));
    if (a != b)
      return "chunk " + std::to_string(chunk) + ":\n" + a + "hibernating:\n"
             + b;
  }
  for (std::size_t at = 0; splits && at <= in.size(); ++at) {
    auto a = outcome(run_split(in, at, max));
    auto b = outcome(run_split(in, at, max, true));
    if (a != b)
      return "split " + std::to_string(at) + ":\n" + a
             + "hibernating:\n" + b;
  }
  return {};
}

/// A stanza of exactly `size` bytes.
std::string stanza_of(std::size_t size) {
  std::string s = "<message><body></body></message>";
  return s.insert(15, size - s.size(), 'x');
}

} // namespace

CAF_TEST(conditions) {
  CAF_CHECK_EQUAL(std::string{to_condition(parse_error::none)}, "");
  CAF_CHECK_EQUAL(std::string{to_condition(parse_error::not_well_formed)},
                  "not-well-formed");
  CAF_CHECK_EQUAL(std::string{to_condition(parse_error::restricted_xml)},
                  "restricted-xml");
  CAF_CHECK_EQUAL(std::string{to_condition(parse_error::too_big)},
                  "policy-violation");
}

CAF_TEST(client stream) {
  auto res = run(client_stream);
  CAF_CHECK_EQUAL(to_condition(res.err), std::string{});
  std::vector<std::string> expected{
    "open stream ns=http://etherx.jabber.org/streams default=jabber:client "
    "to=example.com version=1.0 xml:lang=en",
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
    "<message to='juliet@example.com/balcony' type='chat' id='m&amp;1' "
    "xml:lang='fr' a='x &gt; y &amp; z'>"
    "<body>Caf\xC3\xA9 &amp; cr\xC3\xA8me &lt;b&gt; &quot;q&quot; "
    "&apos;a&apos; \xC3\xBCn\xC3\xAF\xE2\x80\x94 \xF0\x9F\x98\x80 a &gt; b"
    "</body><html xmlns='http://jabber.org/protocol/xhtml-im'>"
    "<body xmlns='http://www.w3.org/1999/xhtml'><p>Hi <em>there</em>!</p>"
    "</body></html>"
    "<data xmlns='urn:example:ext' xmlns:a0='urn:example:ext' a0:kind='k' "
    "plain='p'><item>1</item><item xmlns='jabber:client'>2</item></data>"
    "</message>",
    "<message id='c1' n='\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80'>"
    "<body>&lt;not&gt; &amp; \xC3\xA9 markup ]] &gt; tail</body>"
    "<thread>t\xE2\x82\xAC</thread></message>",
    "<presence><show>away</show><status>gone &gt; fishing</status>"
    "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' "
    "ver='v=='/></presence>",
    "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>r\nes</resource></bind></iq>",
    "close"};
  CAF_CHECK_EQUAL(join(res.events), join(expected));
}

CAF_TEST(every split gives the same events) {
  auto reference = join(run(client_stream).events);
  std::size_t bad = 0;
  for (std::size_t at = 0; at <= client_stream.size(); ++at) {
    auto res = run_split(client_stream, at);
    if (res.err != parse_error::none || join(res.events) != reference) {
      if (bad++ == 0)
        CAF_MESSAGE("first mismatch at split " << at << ": "
                                               << join(res.events));
    }
  }
  CAF_CHECK_EQUAL(bad, 0u);
  for (std::size_t chunk : {1, 2, 3, 7, 64}) {
    auto res = run(client_stream, chunk);
    CAF_CHECK_EQUAL(to_condition(res.err), std::string{});
    CAF_CHECK_EQUAL(join(res.events), reference);
  }
  // Long multi-byte text and CDATA, which libxml2 parses before the next
  // '<' arrives.
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 ";
  auto in = header + "<message><body>" + text + "</body><x><![CDATA[" + text
            + "]]></x></message>";
  reference = join(run(in).events);
  CAF_CHECK_EQUAL(reference, join(run(in, 1).events));
  bad = 0;
  for (std::size_t at = 0; at <= in.size(); ++at)
    if (join(run_split(in, at).events) != reference)
      ++bad;
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(in stream and reset) {
  stream_parser p{big};
  std::vector<stream_event> evs;
  CAF_CHECK(!p.in_stream());
  auto in = header + "<presence/>";
  CAF_REQUIRE(p.feed(in.data(), in.size(), evs) == parse_error::none);
  CAF_CHECK(p.in_stream());
  CAF_REQUIRE_EQUAL(evs.size(), 2u);
  // Stream restart: a new header without XML declaration.
  p.reset();
  CAF_CHECK(!p.in_stream());
  evs.clear();
  in = header + "<iq type='get' id='1'/></stream:stream>";
  CAF_REQUIRE(p.feed(in.data(), in.size(), evs) == parse_error::none);
  CAF_REQUIRE_EQUAL(evs.size(), 3u);
  CAF_CHECK(evs[0].kind == stream_event::open);
  CAF_CHECK_EQUAL(describe(evs[1]), "<iq type='get' id='1'/>");
  CAF_CHECK(evs[2].kind == stream_event::close);
  CAF_CHECK(!p.in_stream());
  // After an error the parser stays failed until reset().
  evs.clear();
  p.reset();
  in = header + "<a></b>";
  CAF_CHECK(p.feed(in.data(), in.size(), evs) == parse_error::not_well_formed);
  CAF_CHECK(p.feed("<x/>", 4, evs) == parse_error::not_well_formed);
  p.reset();
  evs.clear();
  CAF_CHECK(p.feed(header.data(), header.size(), evs) == parse_error::none);
  CAF_CHECK_EQUAL(evs.size(), 1u);
  // A UTF-8 byte order mark before the stream is skipped.
  p.reset();
  evs.clear();
  in = "\xEF\xBB\xBF" + header;
  CAF_CHECK(p.feed(in.data(), 1, evs) == parse_error::none);
  CAF_CHECK(p.feed(in.data() + 1, 1, evs) == parse_error::none);
  CAF_CHECK(p.feed(in.data() + 2, in.size() - 2, evs) == parse_error::none);
  CAF_CHECK_EQUAL(evs.size(), 1u);
  CAF_CHECK_EQUAL(err_of("\xEF\xBB" + header), "not-well-formed");
  CAF_CHECK_EQUAL(err_of("\xEF\xBB\xBF\xEF\xBB\xBF" + header),
                  "not-well-formed");
}

CAF_TEST(restricted xml) {
  const std::string r = "restricted-xml";
  CAF_CHECK_EQUAL(err_of("<!DOCTYPE stream>" + header), r);
  CAF_CHECK_EQUAL(err_of("<?xml version='1.0'?><!DOCTYPE s SYSTEM 'x.dtd'>"
                         + header),
                  r);
  CAF_CHECK_EQUAL(err_of("<?xml-stylesheet href='a'?>" + header), r);
  CAF_CHECK_EQUAL(err_of("<?xml version='1.0'?><?foo bar?>" + header), r);
  CAF_CHECK_EQUAL(err_of(header + "<?foo bar?>"), r);
  CAF_CHECK_EQUAL(err_of(header + "<message><?foo?></message>"), r);
  CAF_CHECK_EQUAL(err_of("<!-- hi -->" + header), r);
  CAF_CHECK_EQUAL(err_of(header + "<!-- hi -->"), r);
  CAF_CHECK_EQUAL(err_of(header + "<message><!-- hi --></message>"), r);
  CAF_CHECK_EQUAL(err_of(header + "<message><body>&foo;</body></message>"),
                  r);
  CAF_CHECK_EQUAL(err_of(header + "<message id='&foo;'/>"), r);
  CAF_CHECK_EQUAL(err_of("<stream:stream a='&foo;'/>"), r);
  // Billion laughs: rejected at the DOCTYPE, nothing is expanded.
  std::string lol = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
  for (int i = 1; i < 10; ++i) {
    lol += "<!ENTITY lol" + std::to_string(i) + " '";
    for (int j = 0; j < 10; ++j)
      lol += i == 1 ? "&lol;" : "&lol" + std::to_string(i - 1) + ";";
    lol += "'>";
  }
  lol += "]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
         "<message><body>&lol9;</body></message>";
  auto res = run(lol);
  CAF_CHECK_EQUAL(to_condition(res.err), r);
  CAF_CHECK(res.events.empty());
  // Events completed before the error are still delivered.
  res = run(header + "<presence/><message/> <!-- x --><iq/>");
  CAF_CHECK_EQUAL(to_condition(res.err), r);
  CAF_CHECK_EQUAL(res.events.size(), 3u);
}

CAF_TEST(not well formed) {
  const std::string n = "not-well-formed";
  CAF_CHECK_EQUAL(err_of(header + "<message></iq>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<<<>>>"), n);
  CAF_CHECK_EQUAL(err_of("garbage"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message to='a' to='b'/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message to=a/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message><body>a &amp b</body>"
                         "</message><iq id=';'/>"),
                  n);
  CAF_CHECK_EQUAL(err_of(header + "<message>]]></message>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message>&#0;</message>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message>\x01</message>"), n);
  CAF_CHECK_EQUAL(err_of(header + "</stream:stream><message/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message/><?xml version='1.0'?>"), n);
  // Invalid UTF-8: stray continuation, bad lead byte, overlong encoding,
  // truncated sequence, surrogate, in text, attribute values and names.
  CAF_CHECK_EQUAL(err_of(header + "<body>\x80</body>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<body>a\xFF" "b</body>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<body>\xC0\xAF</body>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<body>\xE2\x82x</body>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<body>\xED\xA0\x80</body>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<body a='\xFE'/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<b\xC3/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<b><![CDATA[\xFF]]></b>"), n);
  // Unbound namespace prefixes, on elements and on attributes.
  CAF_CHECK_EQUAL(err_of(header + "<foo:bar/>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message><x:y/></message>"), n);
  CAF_CHECK_EQUAL(err_of(header + "<message foo:x='1'/>"), n);
  CAF_CHECK_EQUAL(err_of("<stream:stream xmlns='jabber:client'>"), n);
  // Nothing after the error is delivered.
  auto res = run(header + "<presence/><foo:bar/><message/>");
  CAF_CHECK_EQUAL(res.events.size(), 2u);
}

CAF_TEST(size limits) {
  const std::size_t max = 256 * 1024;
  const std::string p = "policy-violation";
  // A 10 MB stanza fed in 4 KiB chunks fails early.
  auto huge = header + "<message><body>" + std::string(10000000, 'a')
              + "</body></message>";
  auto res = run(huge, 4096, max);
  CAF_CHECK_EQUAL(to_condition(res.err), p);
  CAF_CHECK_LESS_OR_EQUAL(res.fed, header.size() + max + 4096);
  CAF_CHECK_EQUAL(res.events.size(), 1u);
  // The same for a start tag that never ends, and in one big chunk.
  huge = header + "<message a='" + std::string(10000000, 'a');
  res = run(huge, 4096, max);
  CAF_CHECK_EQUAL(to_condition(res.err), p);
  CAF_CHECK_LESS_OR_EQUAL(res.fed, header.size() + max + 4096);
  CAF_CHECK_EQUAL(to_condition(run(huge, 0, max).err), p);
  // A stream header larger than the limit.
  auto big_header = "<stream:stream xmlns:stream='"
                    "http://etherx.jabber.org/streams' a='"
                    + std::string(max, 'a') + "'>";
  CAF_CHECK_EQUAL(err_of(big_header, max), p);
  // Nesting depth and attribute count.
  std::string deep = header;
  for (int i = 0; i < 300; ++i)
    deep += "<a>";
  CAF_CHECK_EQUAL(err_of(deep), p);
  std::string attrs = header + "<message";
  for (int i = 0; i < 300; ++i)
    attrs += " a" + std::to_string(i) + "=''";
  CAF_CHECK_EQUAL(err_of(attrs + "/>"), p);
  // Tiny children that each copy a long namespace name.
  std::string wide = header + "<message xmlns='urn:" + std::string(500, 'x')
                     + "'>";
  for (int i = 0; i < 60000; ++i)
    wide += "<a/>";
  CAF_CHECK_EQUAL(to_condition(run(wide, 4096, max).err), p);
}

CAF_TEST(name dictionary is bounded) {
  // Every new element or attribute name is kept for the whole stream.
  stream_parser p{1024};
  std::vector<stream_event> evs;
  auto err = p.feed(header.data(), header.size(), evs);
  int i = 0;
  for (; i < 100000 && err == parse_error::none; ++i) {
    auto s = "<m a" + std::to_string(i) + "='x'/>";
    err = p.feed(s.data(), s.size(), evs);
  }
  CAF_CHECK_EQUAL(to_condition(err), std::string{"policy-violation"});
  CAF_CHECK_GREATER(i, 1000);
  CAF_CHECK_LESS(i, 100000);
}

CAF_TEST(stanza at the size limit) {
  const std::size_t max = 1024;
  auto stanza = stanza_of;
  CAF_REQUIRE_EQUAL(stanza(max).size(), max);
  // Whitespace that libxml2 passes on as a copy (after normalizing CR LF)
  // counts exactly like the rest.
  for (std::string ws : {"", " ", "\n\n\t ", "\r\n", "\r\n\r\n", "\r\r\n",
                         "\r", " \r \r\n\t"}) {
    auto ok = header + ws + stanza(max) + ws + stanza(max) + ws;
    for (std::size_t chunk : {0, 1, 5, 1000}) {
      auto res = run(ok, chunk, max);
      CAF_CHECK_EQUAL(to_condition(res.err), std::string{});
      CAF_CHECK_EQUAL(res.events.size(), 3u);
    }
    auto bad = header + ws + stanza(max) + ws + stanza(max + 1);
    for (std::size_t chunk : {0, 1, 5, 1000}) {
      auto res = run(bad, chunk, max);
      CAF_CHECK_EQUAL(to_condition(res.err), std::string{"policy-violation"});
      CAF_CHECK_EQUAL(res.events.size(), 2u);
    }
  }
  // The header itself may be as large as the limit.
  auto h = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
           "a='x'>";
  std::string hdr = h;
  auto at = hdr.find("'>");
  hdr.insert(at, max - hdr.size(), 'x');
  CAF_REQUIRE_EQUAL(hdr.size(), max);
  CAF_CHECK_EQUAL(err_of(hdr, max), std::string{});
  CAF_CHECK_EQUAL(err_of(hdr.insert(at, "x"), max), "policy-violation");
}

// -- hibernation --------------------------------------------------------------

CAF_TEST(when a parser can hibernate) {
  stream_parser p{big};
  std::vector<stream_event> evs;
  auto feed = [&](const std::string& s) {
    return p.feed(s.data(), s.size(), evs);
  };
  CAF_CHECK(!p.can_hibernate());
  p.hibernate(); // does nothing
  CAF_CHECK(!p.hibernated());
  CAF_REQUIRE(feed("<?xml version='1.0'?>\n") == parse_error::none);
  CAF_CHECK(!p.can_hibernate()); // before the header
  CAF_REQUIRE(feed(header.substr(0, 20)) == parse_error::none);
  CAF_CHECK(!p.can_hibernate());
  CAF_REQUIRE(feed(header.substr(20)) == parse_error::none);
  CAF_CHECK(p.can_hibernate()); // after the header
  CAF_REQUIRE(feed(" <message") == parse_error::none);
  CAF_CHECK(!p.can_hibernate()); // in a start tag
  CAF_REQUIRE(feed("><body>x</body>") == parse_error::none);
  CAF_CHECK(!p.can_hibernate()); // in a stanza
  p.hibernate();
  CAF_CHECK(!p.hibernated());
  CAF_REQUIRE(feed("</message>") == parse_error::none);
  CAF_CHECK(p.can_hibernate()); // between stanzas
  CAF_REQUIRE(feed(" \r\n\t") == parse_error::none);
  CAF_CHECK(p.can_hibernate()); // after whitespace
  CAF_REQUIRE(feed("x") == parse_error::none);
  CAF_CHECK(!p.can_hibernate()); // after text libxml2 still holds
  CAF_REQUIRE(feed("<presence/>") == parse_error::none);
  CAF_CHECK(p.can_hibernate());
  CAF_REQUIRE(feed("<") == parse_error::none);
  CAF_CHECK(!p.can_hibernate()); // a '<' alone
  CAF_REQUIRE(feed("iq/>") == parse_error::none);
  CAF_CHECK_EQUAL(evs.size(), 4u);
  // Hibernated: no bytes, no wake-up.
  p.hibernate();
  CAF_CHECK(p.hibernated());
  CAF_CHECK(p.can_hibernate());
  CAF_CHECK(p.in_stream());
  CAF_CHECK(feed("") == parse_error::none);
  CAF_CHECK(p.hibernated());
  CAF_REQUIRE(feed("<iq type='get' id='2'/>") == parse_error::none);
  CAF_CHECK(!p.hibernated());
  CAF_REQUIRE_EQUAL(evs.size(), 5u);
  CAF_CHECK_EQUAL(describe(evs.back()), "<iq type='get' id='2'/>");
  // Not after an error, nor after the close.
  CAF_CHECK(feed("<a></b>") == parse_error::not_well_formed);
  CAF_CHECK(!p.can_hibernate());
  p.reset();
  evs.clear();
  CAF_REQUIRE(feed(header + "</stream:stream>") == parse_error::none);
  CAF_CHECK(!p.can_hibernate());
  // reset() while hibernated starts a new stream.
  p.reset();
  evs.clear();
  CAF_REQUIRE(feed(header) == parse_error::none);
  p.hibernate();
  CAF_REQUIRE(p.hibernated());
  p.reset();
  CAF_CHECK(!p.hibernated());
  CAF_CHECK(!p.in_stream());
  evs.clear();
  CAF_REQUIRE(feed(header + "<presence/>") == parse_error::none);
  CAF_REQUIRE_EQUAL(evs.size(), 2u);
  CAF_CHECK(evs[0].kind == stream_event::open);
}

CAF_TEST(hibernation keeps the events) {
  // Hibernating at each point where it is possible, one at a time.
  auto reference = outcome(run(client_stream));
  std::size_t points = 0;
  std::size_t bad = 0;
  for (std::size_t at = 0; at <= client_stream.size(); ++at) {
    auto res = run_split(client_stream, at, big, true);
    points += res.hibernations;
    if (outcome(res) != reference && bad++ == 0)
      CAF_MESSAGE("first mismatch at " << at << ": " << outcome(res));
  }
  CAF_CHECK_EQUAL(bad, 0u);
  // After the header, after each stanza, and within the whitespace.
  CAF_MESSAGE(points << " hibernation points in the client stream");
  CAF_CHECK_EQUAL(points, 14u);
  // At all of them in one run, and in other chunkings.
  auto res = run(client_stream, 1, big, true);
  CAF_CHECK_EQUAL(res.hibernations, points);
  CAF_CHECK_EQUAL(hibernation_diff(client_stream), "");
  // Whitespace keepalives, each in its own chunk.
  std::string in = header + "<presence/>";
  for (auto ws : {" ", " ", "\n", "\r", "\n", "\r\n", "\t", "\r", " "})
    in += ws;
  in += "<message><body>hi</body></message>\r\n\r\n </stream:stream>";
  res = run(in, 1, big, true);
  CAF_CHECK_EQUAL(outcome(res), outcome(run(in)));
  CAF_CHECK_GREATER(res.hibernations, 10u);
  CAF_CHECK_EQUAL(res.events.back(), "close");
  CAF_CHECK_EQUAL(hibernation_diff(in), "");
}

CAF_TEST(hibernation keeps the namespaces) {
  // The header's prefix, default namespace and other declarations.
  std::vector<std::string> streams{
    "<s:stream xmlns:s='http://etherx.jabber.org/streams' "
    "xmlns='jabber:server' xmlns:db='jabber:server:dialback' to='a'>",
    "<stream xmlns='http://etherx.jabber.org/streams'>",
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
    // libxml2 accepts only namespace names that parse as URIs.
    "<?xml version='1.0'?><stream:stream xmlns=\"jabber:client\"\n"
    "  xmlns:stream=\"http://etherx.jabber.org/streams\" "
    "xmlns:q='urn:a&amp;b&apos;c%20d'>",
    "<stream:stream xmlns='urn:x&#38;y' xmlns:q='urn:q' "
    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='urn:db'>",
  };
  std::vector<std::string> bodies{
    "<db:result from='a' to='b'>key</db:result>",
    "<message><body>x</body></message>",
    "<q:x q:y='1'><y xmlns='urn:y'/></q:x>",
    "<iq xmlns='jabber:client' type='get'/>",
    "<s:features/>",
    "<stream:features/>",
    "<a xmlns='' b='c'/>",
  };
  std::vector<std::string> ends{
    "</s:stream>", "</stream>", "</stream:stream>", "</foo>",
    "</s:foo>",    "</stream",  "</stream:stream >",
  };
  std::size_t checked = 0;
  for (auto& s : streams) {
    for (auto& b : bodies) {
      for (auto& e : ends) {
        auto in = s + " " + b + "\n" + b + " " + e;
        auto diff = hibernation_diff(in, big, false);
        if (!diff.empty())
          CAF_ERROR("for " << in << "\n" << diff);
        ++checked;
      }
    }
    // Hibernating at every split point.
    auto in = s + " " + bodies[0] + "\n" + bodies[2] + " " + ends[0];
    CAF_CHECK_EQUAL(hibernation_diff(in), "");
  }
  CAF_CHECK_EQUAL(checked, streams.size() * bodies.size() * ends.size());
  // Spot checks: a prefixed namespace with every special character, and
  // the close tag after hibernation.
  auto in = streams[3] + "<q:x/> ";
  stream_parser p{big};
  std::vector<stream_event> evs;
  CAF_REQUIRE(p.feed(in.data(), in.size(), evs) == parse_error::none);
  p.hibernate();
  CAF_REQUIRE(p.hibernated());
  in = "<q:x/></stream:stream>";
  CAF_REQUIRE(p.feed(in.data(), in.size(), evs) == parse_error::none);
  CAF_REQUIRE_EQUAL(evs.size(), 4u);
  CAF_CHECK_EQUAL(evs[1].elem->ns, evs[2].elem->ns);
  // The declared value, decoded as XML ('&amp;' is '&'), not libxml2's
  // internal "&#38;" (tests/fuzz: corpus/dialback/crash-ns-amp).
  CAF_CHECK_EQUAL(evs[2].elem->ns, "urn:a&b'c%20d");
  CAF_CHECK(evs[3].kind == stream_event::close);
  CAF_CHECK(!p.in_stream());
  // A mismatched close tag is still an error.
  p.reset();
  evs.clear();
  in = header + "<presence/>";
  CAF_REQUIRE(p.feed(in.data(), in.size(), evs) == parse_error::none);
  p.hibernate();
  CAF_CHECK(p.feed("</foo>", 6, evs) == parse_error::not_well_formed);
  CAF_CHECK_EQUAL(evs.size(), 2u);
}

CAF_TEST(errors after hibernation) {
  // After the header and after a stanza and whitespace.
  std::vector<std::string> starts{header, header + "<presence/> \n"};
  std::vector<std::pair<std::string, std::string>> tails{
    {"garbage", ""},
    {"garbage<a/>", ""},
    {"<<<>>>", "not-well-formed"},
    {"</foo>", "not-well-formed"},
    {"<message></iq>", "not-well-formed"},
    {"<foo:bar/>", "not-well-formed"},
    {"<message foo:x='1'/>", "not-well-formed"},
    {"<message to='a' to='b'/>", "not-well-formed"},
    {"<body>\x80</body>", "not-well-formed"},
    {"\xC3\xA9<a/>", ""},
    {"\x80<a/>", "not-well-formed"},
    {"\x80", ""}, // libxml2 waits for more
    {"]]><a/>", "not-well-formed"},
    {"<message>&#0;</message>", "not-well-formed"},
    {"<?xml version='1.0'?>", "not-well-formed"},
    {"</stream:stream><message/>", "not-well-formed"},
    {"<!-- hi -->", "restricted-xml"},
    {"<!-- hi --><presence/>", "restricted-xml"},
    {"<?foo bar?>", "restricted-xml"},
    {"<message><!-- hi --></message>", "restricted-xml"},
    {"<message><body>&foo;</body></message>", "restricted-xml"},
    {"&foo;<a/>", "restricted-xml"},
    {"&foo;", "*"}, // fails only without whitespace before (see prime())
    {"&amp; <a/>", ""},
    {"<!DOCTYPE x>", "not-well-formed"},
    {"<![CDATA[x]]><a/>", ""},
  };
  for (auto& start : starts) {
    for (auto& [tail, expected] : tails) {
      auto in = start + tail;
      if (expected != "*")
        CAF_CHECK_EQUAL(err_of(in), expected);
      auto diff = hibernation_diff(in);
      if (!diff.empty())
        CAF_ERROR("for " << in << "\n" << diff);
    }
  }
  // Nothing after the error is delivered.
  auto in = header + "<presence/> <foo:bar/><message/>";
  auto res = run_split(in, header.size() + 12, big, true);
  CAF_CHECK_EQUAL(res.hibernations, 1u);
  CAF_CHECK_EQUAL(to_condition(res.err), std::string{"not-well-formed"});
  CAF_CHECK_EQUAL(res.events.size(), 2u);
}

CAF_TEST(size limits after hibernation) {
  const std::string p = "policy-violation";
  // Stanzas at and over the limit, after whitespace of every kind,
  // including runs libxml2 passes on before it sees a '<', and with
  // limits below those runs.
  std::vector<std::string> spaces{
    "",       " ",      "\n\n\t ", "\r\n",  "\r\n\r\n", "\r\r\n", "\r",
    " \r \n", "\r\n\r", std::string(299, ' '),
    std::string(400, ' ') + "\r\n\r\n" + std::string(400, '\n')};
  CAF_REQUIRE_LESS(header.size(), 128u);
  for (std::size_t max : {128, 200, 1024}) {
    for (auto& ws : spaces) {
      auto ok = header + ws + stanza_of(max) + ws + stanza_of(max) + ws;
      auto bad = header + ws + stanza_of(max) + ws + stanza_of(max + 1);
      auto text = header + stanza_of(max) + ws + "abc" + ws + stanza_of(max);
      CAF_CHECK_EQUAL(err_of(ok, max), "");
      CAF_CHECK_EQUAL(err_of(bad, max), p);
      for (auto& in : {ok, bad, text}) {
        auto diff = hibernation_diff(in, max, max < 1000 && ws.size() < 100);
        if (!diff.empty())
          CAF_ERROR("max " << max << " for " << in << "\n" << diff);
      }
    }
  }
  // A large stanza after hibernation is cut off as early.
  const std::size_t max = 256 * 1024;
  auto huge = header + " <message><body>" + std::string(10000000, 'a')
              + "</body></message>";
  auto a = run_split(huge, header.size() + 1, max);
  auto b = run_split(huge, header.size() + 1, max, true);
  CAF_CHECK_EQUAL(to_condition(b.err), p);
  CAF_CHECK_EQUAL(b.hibernations, 1u);
  CAF_CHECK_EQUAL(outcome(a), outcome(b));
  huge = header + "<message a='" + std::string(10000000, 'a');
  CAF_CHECK_EQUAL(outcome(run(huge, 4096, max)),
                  outcome(run(huge, 4096, max, true)));
  // Nesting depth and attribute count.
  std::string deep = header;
  for (int i = 0; i < 300; ++i)
    deep += "<a>";
  CAF_CHECK_EQUAL(hibernation_diff(deep, big, false), "");
  std::string attrs = header + "<message";
  for (int i = 0; i < 300; ++i)
    attrs += " a" + std::to_string(i) + "=''";
  CAF_CHECK_EQUAL(hibernation_diff(attrs + "/>", big, false), "");
}

namespace {

/// Heap bytes in use.
std::size_t heap_in_use() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

} // namespace

CAF_TEST(memory of idle parsers) {
  constexpr std::size_t n = 1000;
  // A client stream up to its end, with a long stanza.
  auto in = client_stream.substr(0, client_stream.rfind("</stream:stream>"))
            + "<message><body>" + std::string(3000, 'z') + "</body></message>";
  auto feed = [&](stream_parser& p, const std::string& s) {
    std::vector<stream_event> evs;
    CAF_REQUIRE(p.feed(s.data(), s.size(), evs) == parse_error::none);
  };
  { // libxml2 initializes its globals on first use
    stream_parser p{65536};
    feed(p, in);
  }
  std::vector<std::unique_ptr<stream_parser>> ps;
  ps.reserve(n);
  auto base = heap_in_use();
  for (std::size_t i = 0; i < n; ++i)
    ps.push_back(std::make_unique<stream_parser>(65536));
  auto fresh = heap_in_use();
  for (auto& p : ps)
    feed(*p, in);
  auto live = heap_in_use();
  for (auto& p : ps) {
    CAF_REQUIRE(p->can_hibernate());
    p->hibernate();
  }
  auto hibernated = heap_in_use();
  const std::string stanza = "<message><body>hi</body></message>";
  for (auto& p : ps)
    feed(*p, stanza);
  auto woken = heap_in_use();
  auto per = [&](std::size_t x) { return (x - base) / n; };
  CAF_MESSAGE("heap per parser: fresh " << per(fresh) << " B, live "
                                        << per(live) << " B, hibernated "
                                        << per(hibernated) << " B, woken "
                                        << per(woken) << " B");
  CAF_CHECK_LESS(per(fresh), 512u);
  CAF_CHECK_LESS(per(hibernated), 1024u);
  CAF_CHECK_GREATER(per(live), 8 * per(hibernated));
  CAF_CHECK_GREATER(per(woken), 8 * per(hibernated));
  // What a wake-up costs: hibernate, then one stanza.
  std::vector<stream_event> evs;
  evs.reserve(2 * n);
  std::size_t errors = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto& p : ps) {
    p->hibernate();
    errors += p->feed(stanza.data(), stanza.size(), evs) != parse_error::none;
  }
  auto t1 = std::chrono::steady_clock::now();
  for (auto& p : ps)
    errors += p->feed(stanza.data(), stanza.size(), evs) != parse_error::none;
  auto t2 = std::chrono::steady_clock::now();
  CAF_CHECK_EQUAL(errors, 0u);
  CAF_CHECK_EQUAL(evs.size(), 2 * n);
  auto us = [&](auto d) {
    return std::chrono::duration<double, std::micro>(d).count() / n;
  };
  CAF_MESSAGE("one stanza: " << us(t1 - t0) << " us after hibernation, "
                             << us(t2 - t1) << " us on a live parser");
}

CAF_TEST(limit raised after authentication) {
  // A stream starts with the small pre-authentication limit...
  stream_parser p{10 * 1024};
  std::vector<stream_event> evs;
  auto big_stanza = "<message><body>" + std::string(20000, 'x')
                    + "</body></message>";
  auto in = header + big_stanza;
  CAF_CHECK(p.feed(in.data(), in.size(), evs) == parse_error::too_big);
  // ... and keeps the one it was given across the restart after SASL.
  p.reset();
  p.set_max_stanza_size(64 * 1024);
  CAF_CHECK_EQUAL(p.max_stanza_size(), 64u * 1024);
  evs.clear();
  CAF_CHECK(p.feed(in.data(), in.size(), evs) == parse_error::none);
  CAF_CHECK_EQUAL(evs.size(), 2u);
  p.reset();
  evs.clear();
  CAF_CHECK(p.feed(in.data(), in.size(), evs) == parse_error::none);
}

CAF_TEST(memory held by strangers) {
  // 11,000 empty children in 43 KB, sent by connections that never log
  // in: what their parsers hold until the negotiation timeout, with the
  // full stanza limit and with the pre-authentication one.
  std::string flood = header + "<message>";
  for (int i = 0; i < 11000; ++i)
    flood += "<a/>";
  constexpr std::size_t n = 20;
  auto held = [&](std::size_t limit) {
    std::vector<std::unique_ptr<stream_parser>> ps;
    auto base = heap_in_use();
    for (std::size_t i = 0; i < n; ++i) {
      ps.push_back(std::make_unique<stream_parser>(limit));
      std::vector<stream_event> evs;
      ps.back()->feed(flood.data(), flood.size(), evs);
    }
    return (heap_in_use() - base) / n;
  };
  auto full = held(256 * 1024);
  auto preauth = held(10 * 1024);
  CAF_MESSAGE("heap per stranger: " << full << " B with a 256 KiB limit, "
                                    << preauth << " B with 10 KiB");
  CAF_CHECK_LESS(preauth, 128u * 1024);
}

CAF_TEST(declared encoding and version) {
  auto with_decl = [](const std::string& decl) { return decl + header; };
  // RFC 6120 §11.6: UTF-8 only; §11.1: XML 1.0 only.
  CAF_CHECK_EQUAL(err_of(with_decl("<?xml version='1.0' encoding='UTF-16'?>")),
                  "unsupported-encoding");
  CAF_CHECK_EQUAL(err_of(with_decl("<?xml version=\"1.0\" "
                                   "encoding=\"ISO-8859-1\"?>")),
                  "unsupported-encoding");
  CAF_CHECK_EQUAL(err_of(with_decl("<?xml version='1.1'?>")),
                  "unsupported-version");
  CAF_CHECK_EQUAL(err_of(with_decl("<?xml version='1.0' encoding='utf-8'?>")),
                  "");
  CAF_CHECK_EQUAL(err_of(with_decl("<?xml version='1.0'?>")), "");
  CAF_CHECK_EQUAL(err_of(header), "");
  // After a byte order mark too.
  CAF_CHECK_EQUAL(err_of("\xEF\xBB\xBF" + with_decl("<?xml version='1.0' "
                                                    "encoding='UTF-16'?>")),
                  "unsupported-encoding");
}

CAF_TEST(a stream header inside the stream) {
  // Without an XML declaration it would be a first-level element that
  // never ends, swallowing what follows.
  CAF_CHECK_EQUAL(err_of(header + "<message/>" + header),
                  "unsupported-stanza-type");
  CAF_CHECK_EQUAL(err_of(header + "<stream:stream xmlns:stream='"
                                  "http://etherx.jabber.org/streams'/>"),
                  "unsupported-stanza-type");
}
