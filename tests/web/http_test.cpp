#define CAF_SUITE web.http

// The `http` listener's pieces without sockets: the request parser
// (http_parser), responses, the WebSocket handshake key, origins, wslay
// framing and RFC 7395's mapping of the c2s stream's output.

#include "web/http.hpp"
#include "web/settings.hpp"
#include "web/websocket.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

using namespace dja;
using status = web::request_parser::status;

namespace {

/// A client frame (masked, RFC 6455 §5.3) with `opcode` and `payload`.
std::string client_frame(uint8_t opcode, const std::string& payload,
                         bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>((payload.size() >> 8) & 0xff);
    f += static_cast<char>(payload.size() & 0xff);
  }
  for (auto m : mask)
    f += static_cast<char>(m);
  for (size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

} // namespace

CAF_TEST(one request then the next) {
  web::request_parser p{4096, 1024};
  std::string in = "GET /health?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v \r\n\r\n"
                   "PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  std::size_t used = 0;
  CAF_REQUIRE(p.feed(in.data(), in.size(), used) == status::complete);
  auto r = p.take();
  CAF_CHECK_EQUAL(r.method, "GET");
  CAF_CHECK_EQUAL(r.path, "/health");
  CAF_CHECK_EQUAL(r.query, "x=1");
  CAF_REQUIRE(r.header("x-thing") != nullptr);
  CAF_CHECK_EQUAL(*r.header("x-thing"), "v");
  CAF_CHECK(r.keep_alive);
  in.erase(0, used);
  CAF_REQUIRE(p.feed(in.data(), in.size(), used) == status::complete);
  r = p.take();
  CAF_CHECK_EQUAL(r.method, "PUT");
  CAF_CHECK_EQUAL(r.body, "abc");
  CAF_CHECK_EQUAL(used, in.size());
}

CAF_TEST(a request in pieces) {
  web::request_parser p{4096, 1024};
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  std::size_t used = 0;
  for (size_t i = 0; i + 1 < in.size(); ++i) {
    CAF_REQUIRE(p.feed(in.data() + i, 1, used) == status::more);
    CAF_CHECK_EQUAL(used, 1u);
  }
  CAF_REQUIRE(p.feed(in.data() + in.size() - 1, 1, used) == status::complete);
  CAF_CHECK(!p.take().keep_alive);
}

CAF_TEST(upgrade stops after the headers) {
  web::request_parser p{4096, 1024};
  std::string in = "GET /xmpp-websocket HTTP/1.1\r\nHost: a\r\n"
                   "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                   "Sec-WebSocket-Protocol: chat, xmpp\r\n\r\n\x81\x80";
  std::size_t used = 0;
  CAF_REQUIRE(p.feed(in.data(), in.size(), used) == status::complete);
  auto r = p.take();
  CAF_CHECK(r.upgrade);
  CAF_CHECK(r.header_has("connection", "upgrade"));
  CAF_CHECK(r.header_has("sec-websocket-protocol", "xmpp"));
  CAF_CHECK(!r.header_has("sec-websocket-protocol", "xmp"));
  CAF_CHECK_EQUAL(in.size() - used, 2u); // the frame's bytes stay
}

CAF_TEST(limits and malformed requests) {
  std::size_t used = 0;
  {
    web::request_parser p{64, 1024};
    std::string in = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
    CAF_CHECK(p.feed(in.data(), in.size(), used) == status::error);
    CAF_CHECK_EQUAL(p.error_status(), 431);
  }
  {
    web::request_parser p{4096, 10};
    std::string in = "PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
    CAF_CHECK(p.feed(in.data(), in.size(), used) == status::error);
    CAF_CHECK_EQUAL(p.error_status(), 413);
  }
  {
    web::request_parser p{4096, 10};
    std::string in = "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "b\r\nhello world\r\n0\r\n\r\n";
    CAF_CHECK(p.feed(in.data(), in.size(), used) == status::error);
    CAF_CHECK_EQUAL(p.error_status(), 413);
  }
  {
    web::request_parser p{4096, 10};
    std::string in = "<stream:stream to='localhost'>";
    CAF_CHECK(p.feed(in.data(), in.size(), used) == status::error);
    CAF_CHECK_EQUAL(p.error_status(), 400);
  }
}

CAF_TEST(responses) {
  auto r = web::response::text(404, "no\n");
  r.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: x");
  auto out = web::serialize(r, true);
  CAF_CHECK_EQUAL(out, "HTTP/1.1 404 Not Found\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 3\r\n"
                       "X-Content-Type-Options: nosniff\r\n"
                       "Connection: keep-alive\r\n\r\nno\n");
  CAF_CHECK_EQUAL(web::serialize(r, false, true).find("no\n"),
                  std::string::npos);
}

CAF_TEST(handshake key and origins) {
  // RFC 6455 §1.3's example.
  CAF_CHECK_EQUAL(web::websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
                  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string o = "https://Chat.Example.org/";
  CAF_CHECK(web::origin_allowed({}, &o));
  CAF_CHECK(web::origin_allowed({"https://chat.example.org"}, &o));
  CAF_CHECK(web::origin_allowed({"*"}, &o));
  CAF_CHECK(!web::origin_allowed({"https://other.example"}, &o));
  CAF_CHECK(web::origin_allowed({"https://other.example"}, nullptr));
}

CAF_TEST(routes) {
  web::settings s;
  s.routes.push_back({"GET", "/metrics", caf::actor{}});
  s.routes.push_back({"", "/upload/", caf::actor{}});
  CAF_CHECK(s.find("GET", "/metrics") == &s.routes[0]);
  CAF_CHECK(s.find("HEAD", "/metrics") == &s.routes[0]);
  CAF_CHECK(s.find("POST", "/metrics") == nullptr);
  CAF_CHECK(s.find("PUT", "/upload/abc/x.png") == &s.routes[1]);
  CAF_CHECK(s.find("GET", "/up") == nullptr);
}

CAF_TEST(websocket frames) {
  web::ws_codec c{100};
  std::vector<web::ws_codec::message> msgs;
  // Two messages, the second in two fragments, split across feeds, and a
  // ping in between.
  auto in = client_frame(0x1, "<open/>") + client_frame(0x1, "<mess", false)
            + client_frame(0x9, "p") + client_frame(0x0, "age/>");
  CAF_CHECK(c.feed(in.data(), 5, msgs));
  CAF_CHECK(c.feed(in.data() + 5, in.size() - 5, msgs));
  CAF_REQUIRE_EQUAL(msgs.size(), 2u);
  CAF_CHECK_EQUAL(msgs[0].data, "<open/>");
  CAF_CHECK_EQUAL(msgs[1].data, "<message/>");
  std::string out;
  c.take_output(out);
  CAF_CHECK_EQUAL(out, std::string("\x8a\x01p", 3)); // the pong, unmasked
  out.clear();
  c.send_text("<a/>");
  c.take_output(out);
  CAF_CHECK_EQUAL(out, std::string("\x81\x04<a/>", 6));
  // Over the bound: refused, with a close frame 1009.
  msgs.clear();
  auto big = client_frame(0x1, std::string(200, 'x'));
  CAF_CHECK(!c.feed(big.data(), big.size(), msgs));
  CAF_CHECK(msgs.empty());
  out.clear();
  c.take_output(out);
  CAF_REQUIRE_GREATER_OR_EQUAL(out.size(), 4u);
  CAF_CHECK_EQUAL(static_cast<uint8_t>(out[0]), 0x88);
  CAF_CHECK_EQUAL((static_cast<uint8_t>(out[2]) << 8) | static_cast<uint8_t>(out[3]),
                  1009);
}

CAF_TEST(unmasked client frames are a protocol error) {
  web::ws_codec c{100};
  std::vector<web::ws_codec::message> msgs;
  std::string in = "\x81\x02hi";
  CAF_CHECK(!c.feed(in.data(), in.size(), msgs));
  CAF_CHECK(msgs.empty());
}

CAF_TEST(rfc 7395 framing of the stream output) {
  bool closing = false;
  auto m = web::to_framing(
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='abc' "
    "from='localhost' version='1.0' xml:lang='en'>",
    closing);
  CAF_REQUIRE_EQUAL(m.size(), 1u);
  CAF_CHECK_EQUAL(m[0], "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                        "id='abc' from='localhost' version='1.0' "
                        "xml:lang='en'/>");
  CAF_CHECK(!closing);
  m = web::to_framing("<stream:features><bind xmlns='x'/></stream:features>",
                      closing);
  CAF_REQUIRE_EQUAL(m.size(), 1u);
  CAF_CHECK_EQUAL(m[0], "<stream:features xmlns:stream='http://etherx.jabber."
                        "org/streams'><bind xmlns='x'/></stream:features>");
  m = web::to_framing("<stream:error><host-unknown xmlns='urn:ietf:params:xml:"
                      "ns:xmpp-streams'/></stream:error></stream:stream>",
                      closing);
  CAF_REQUIRE_EQUAL(m.size(), 2u);
  CAF_CHECK_EQUAL(m[0].rfind("<stream:error xmlns:stream=", 0), 0u);
  CAF_CHECK_EQUAL(m[1], "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  CAF_CHECK(closing);
  m = web::to_framing("<message xmlns='jabber:client'/>", closing);
  CAF_REQUIRE_EQUAL(m.size(), 1u);
  CAF_CHECK_EQUAL(m[0], "<message xmlns='jabber:client'/>");
  CAF_CHECK(!closing);
}
