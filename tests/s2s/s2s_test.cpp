#define CAF_SUITE s2s

// Pieces of federation that need no network: dialback keys (XEP-0220
// §2.4), the namespace move of stanzas between jabber:client and
// jabber:server, stream headers, and the federation config keys.

#include "s2s/dialback.hpp"
#include "s2s/resolver.hpp"
#include "s2s/wire.hpp"
#include "server/config.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

using namespace dja;

namespace {

std::string all_errors(const config::load_result& r) {
  std::string res;
  for (auto& e : r.errors)
    res += e.to_string() + "\n";
  return res;
}

const std::string listeners = "[[listen]]\n"
                              "kind = \"s2s\"\n"
                              "address = \"127.0.0.1\"\n"
                              "port = 5269\n"
                              "[[vhost]]\n"
                              "domain = \"a.test\"\n";

} // namespace

CAF_TEST(dialback key follows XEP-0220 section 2.4) {
  // hex(HMAC-SHA256(hex(SHA256(secret)), "recv orig id")), computed
  // independently with Python's hashlib/hmac.
  CAF_CHECK_EQUAL(s2s::dialback_key("s3cr3tf0rd14lb4ck", "example.net",
                                    "example.com", "D60000229F"),
                  "008c689ff366b50c63d69a3e2d2c0e0e1f8404b0118eb688a0102c87cb"
                  "691bdc");
  // Every input matters.
  auto k = s2s::dialback_key("secret", "b.test", "a.test", "id1");
  CAF_CHECK_NOT_EQUAL(k, s2s::dialback_key("secreT", "b.test", "a.test", "id1"));
  CAF_CHECK_NOT_EQUAL(k, s2s::dialback_key("secret", "a.test", "b.test", "id1"));
  CAF_CHECK_NOT_EQUAL(k, s2s::dialback_key("secret", "b.test", "a.test", "id2"));
}

CAF_TEST(dialback secret is made once and kept) {
  auto dir = std::filesystem::temp_directory_path()
             / ("dja-s2s-test-" + s2s::random_id());
  std::string err;
  auto first = s2s::load_or_make_secret(dir.string(), err);
  CAF_CHECK_EQUAL(err, "");
  CAF_CHECK_EQUAL(first.size(), 64u);
  auto second = s2s::load_or_make_secret(dir.string(), err);
  CAF_CHECK_EQUAL(first, second);
  auto perms
    = std::filesystem::status(dir / "s2s_dialback_secret").permissions();
  CAF_CHECK((perms & std::filesystem::perms::group_read)
            == std::filesystem::perms::none);
  std::filesystem::remove_all(dir);
}

CAF_TEST(stanzas move between jabber:client and jabber:server) {
  xml::element msg{"message", "jabber:client"};
  msg.set_attr("to", "bob@b.test");
  msg.add_child(xml::element{"body", "jabber:client"}).add_text("hi");
  msg.add_child(xml::element{"x", "urn:example"})
    .add_child(xml::element{"y", "jabber:client"});
  auto out = s2s::retag(msg, "jabber:client", s2s::ns_server);
  CAF_CHECK_EQUAL(s2s::to_wire(*out),
                  "<message to='bob@b.test'><body>hi</body><x "
                  "xmlns='urn:example'><y xmlns='jabber:server'/></x>"
                  "</message>");
  // The original is shared with other actors: it is not changed.
  CAF_CHECK_EQUAL(msg.child("body")->ns, "jabber:client");
  auto back = s2s::retag(*out, s2s::ns_server, "jabber:client");
  CAF_CHECK_EQUAL(xml::to_string(*back), xml::to_string(msg));
}

CAF_TEST(stream header) {
  auto h = s2s::stream_header("a.test", "b.test", "");
  CAF_CHECK(h.find("xmlns='jabber:server'") != std::string::npos);
  CAF_CHECK(h.find("xmlns:db='jabber:server:dialback'") != std::string::npos);
  CAF_CHECK(h.find("from='a.test' to='b.test' version='1.0'")
            != std::string::npos);
  CAF_CHECK(h.find("id=") == std::string::npos);
}

CAF_TEST(federation config keys) {
  auto r = config::load_text("[server]\n"
                             "s2s_tls = \"optional\"\n"
                             "s2s_dialback_secret = \"0123456789abcdef\"\n"
                             "s2s_require_certificate = [\"B.test\"]\n"
                             "s2s_idle_timeout = 60\n"
                             "s2s_connect_timeout = 3\n"
                             "s2s_handshake_timeout = 7\n"
                               + listeners
                               + "[[s2s_route]]\n"
                                 "domain = \"b.test\"\n"
                                 "host = \"127.0.0.2\"\n"
                                 "port = 5270\n",
                             "test.toml");
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  auto& c = r.cfg;
  CAF_CHECK_EQUAL(c.s2s_tls, "optional");
  CAF_CHECK_EQUAL(c.s2s_dialback_secret, "0123456789abcdef");
  CAF_REQUIRE_EQUAL(c.s2s_require_certificate.size(), 1u);
  CAF_CHECK_EQUAL(c.s2s_require_certificate[0], "b.test");
  CAF_CHECK_EQUAL(c.s2s_idle_timeout.count(), 60);
  CAF_CHECK_EQUAL(c.s2s_connect_timeout.count(), 3);
  CAF_CHECK_EQUAL(c.s2s_handshake_timeout.count(), 7);
  CAF_REQUIRE_EQUAL(c.s2s_routes.size(), 1u);
  CAF_CHECK_EQUAL(c.s2s_routes[0].domain, "b.test");
  CAF_CHECK_EQUAL(c.s2s_routes[0].host, "127.0.0.2");
  CAF_CHECK_EQUAL(c.s2s_routes[0].port, 5270u);
  CAF_CHECK_EQUAL(c.listeners[0].kind, "s2s");
}

CAF_TEST(federation config mistakes name file line and key) {
  auto r = config::load_text("[server]\n"
                             "s2s_tls = \"sometimes\"\n"
                             "s2s_dialback_secret = \"short\"\n"
                             "s2s_idle_timeout = 0\n"
                             "s2s_ca_file = \"/nonexistent/ca.pem\"\n"
                             "s2s_require_certificate = \"b.test\"\n"
                               + listeners
                               + "[[s2s_route]]\n"
                                 "domain = \"b.test\"\n"
                                 "port = 70000\n"
                                 "[[s2s_route]]\n"
                                 "domain = \"b.test\"\n"
                                 "host = \"x\"\n"
                                 "colour = 1\n",
                             "test.toml");
  auto text = all_errors(r);
  CAF_MESSAGE(text);
  for (auto needle :
       {"test.toml:2: server.s2s_tls: one of required, optional",
        "test.toml:3: server.s2s_dialback_secret: a string of at least 16",
        "test.toml:4: server.s2s_idle_timeout:",
        "test.toml:5: server.s2s_ca_file: a readable PEM file",
        "test.toml:6: server.s2s_require_certificate: an array of domain",
        "test.toml:15: s2s_route[0].port:", "s2s_route[0].host: an address",
        "test.toml:19: s2s_route[1].colour: one of the keys domain, host, port",
        "s2s_route[1].domain: a domain no other [[s2s_route]] names",
        "listen[0]: a [[vhost]] with tls_cert and tls_key"})
    CAF_CHECK(text.find(needle) != std::string::npos);
}

namespace {

/// A DNS answer for _xmpp-server._tcp.b.test with the given SRV records
/// (priority, weight, port, target labels), as a server would send it.
std::vector<unsigned char>
srv_answer(const std::vector<std::tuple<int, int, int, std::vector<std::string>>>&
             records) {
  std::vector<unsigned char> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0,
                                  static_cast<unsigned char>(records.size()),
                                  0, 0, 0, 0};
  auto name = [&m](const std::vector<std::string>& labels) {
    for (auto& l : labels) {
      m.push_back(static_cast<unsigned char>(l.size()));
      m.insert(m.end(), l.begin(), l.end());
    }
    m.push_back(0);
  };
  auto u16 = [&m](int v) {
    m.push_back(static_cast<unsigned char>(v >> 8));
    m.push_back(static_cast<unsigned char>(v & 0xff));
  };
  name({"_xmpp-server", "_tcp", "b", "test"});
  u16(33); // SRV
  u16(1);  // IN
  for (auto& [prio, weight, port, target] : records) {
    m.push_back(0xc0); // the question's name, compressed
    m.push_back(12);
    u16(33);
    u16(1);
    m.insert(m.end(), {0, 0, 0x0e, 0x10}); // TTL
    size_t len = 6 + 1;
    for (auto& l : target)
      len += 1 + l.size();
    u16(static_cast<int>(len));
    u16(prio);
    u16(weight);
    u16(port);
    name(target);
  }
  return m;
}

} // namespace

CAF_TEST(SRV answers are parsed and ordered as RFC 2782 says) {
  auto m = srv_answer({{20, 0, 5270, {"backup", "b", "test"}},
                       {10, 5, 5269, {"light", "b", "test"}},
                       {10, 60, 5271, {"heavy", "b", "test"}}});
  auto ts = s2s::parse_srv(m.data(), static_cast<int>(m.size()));
  CAF_REQUIRE_EQUAL(ts.size(), 3u);
  CAF_CHECK_EQUAL(ts[0].host, "heavy.b.test");
  CAF_CHECK_EQUAL(ts[0].port, 5271u);
  CAF_CHECK_EQUAL(ts[1].host, "light.b.test");
  CAF_CHECK_EQUAL(ts[2].host, "backup.b.test");
  CAF_CHECK_EQUAL(ts[2].priority, 20);
  // RFC 2782: a single "." target means "decidedly not available".
  auto none = srv_answer({{0, 0, 0, {}}});
  ts = s2s::parse_srv(none.data(), static_cast<int>(none.size()));
  CAF_REQUIRE_EQUAL(ts.size(), 1u);
  CAF_CHECK_EQUAL(ts[0].host, ".");
  // Garbage and "no answer" give nothing.
  unsigned char junk[5] = {1, 2, 3, 4, 5};
  CAF_CHECK(s2s::parse_srv(junk, 5).empty());
  CAF_CHECK(s2s::parse_srv(junk, -1).empty());
}
