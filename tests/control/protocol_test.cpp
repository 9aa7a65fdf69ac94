#define CAF_SUITE control.protocol

// The control channel's line protocol (actors/control/protocol.hpp): what
// a request line may hold, the bounds of a line read in pieces, and the
// response framing both sides agree on.

#include "control/protocol.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>

using namespace dja::control;

namespace {

std::string error_of(std::string_view line) {
  auto p = parse_request(line);
  return p.req ? "ok" : p.error;
}

} // namespace

CAF_TEST(a request is a command and its words) {
  auto p = parse_request("invalidate alice@localhost");
  CAF_REQUIRE(p.req);
  CAF_CHECK_EQUAL(p.req->command, "invalidate");
  CAF_REQUIRE_EQUAL(p.req->args.size(), 1u);
  CAF_CHECK_EQUAL(p.req->args[0], "alice@localhost");
  // Runs of spaces and a CR before the LF (a client on a terminal).
  p = parse_request("  invalidate   --all \r");
  CAF_REQUIRE(p.req);
  CAF_CHECK_EQUAL(p.req->command, "invalidate");
  CAF_REQUIRE_EQUAL(p.req->args.size(), 1u);
  CAF_CHECK_EQUAL(p.req->args[0], "--all");
  p = parse_request("status");
  CAF_REQUIRE(p.req);
  CAF_CHECK(p.req->args.empty());
}

CAF_TEST(empty lines control characters and too many words are refused) {
  CAF_CHECK_EQUAL(error_of(""), "empty request (try `help`)");
  CAF_CHECK_EQUAL(error_of("   "), "empty request (try `help`)");
  CAF_CHECK_EQUAL(error_of("status\x01"), "control character in the request");
  CAF_CHECK_EQUAL(error_of("invalidate a\tb"),
                  "control character in the request");
  CAF_CHECK_EQUAL(error_of("invalidate \x7f"),
                  "control character in the request");
  std::string words = "x";
  for (size_t i = 1; i < max_words; ++i)
    words += " x";
  CAF_CHECK_EQUAL(error_of(words), "ok");
  CAF_CHECK_EQUAL(error_of(words + " x"), "more than " + std::to_string(max_words) + " words in the request");
  // UTF-8 is not a control character (an IDN domain).
  CAF_CHECK_EQUAL(error_of("invalidate b\xc3\xbc" "cher.example"), "ok");
}

CAF_TEST(a request line is bounded with its LF) {
  std::string longest(max_request - 1, 'a');
  CAF_CHECK_EQUAL(error_of(longest), "ok");
  CAF_CHECK_EQUAL(error_of(longest + "a"),
                  "request longer than 1024 bytes");
}

CAF_TEST(the line reader takes a line in pieces and stops at the bound) {
  line_reader r;
  CAF_CHECK(r.feed("inval") == line_reader::status::more);
  CAF_CHECK(r.feed("idate al") == line_reader::status::more);
  CAF_CHECK(r.feed("ice@localhost\nwhatever follows") ==
            line_reader::status::complete);
  CAF_CHECK_EQUAL(r.line(), "invalidate alice@localhost");
  CAF_CHECK(r.feed("more") == line_reader::status::complete);
  CAF_CHECK_EQUAL(r.line(), "invalidate alice@localhost");
  line_reader big;
  std::string chunk(max_request / 4, 'a');
  CAF_CHECK(big.feed(chunk) == line_reader::status::more);
  CAF_CHECK(big.feed(chunk) == line_reader::status::more);
  CAF_CHECK(big.feed(chunk) == line_reader::status::more);
  // max_request bytes and no LF yet: the line cannot fit any more.
  CAF_CHECK(big.feed(chunk) == line_reader::status::too_long);
  line_reader exact;
  CAF_CHECK(exact.feed(std::string(max_request - 1, 'a') + "\n")
            == line_reader::status::complete);
}

CAF_TEST(the client formats only what the server can parse) {
  CAF_CHECK_EQUAL(format_request({"invalidate", "--all"}),
                  "invalidate --all\n");
  CAF_CHECK_EQUAL(format_request({}), "");
  CAF_CHECK_EQUAL(format_request({"invalidate", ""}), "");
  CAF_CHECK_EQUAL(format_request({"invalidate", "a b"}), "");
  CAF_CHECK_EQUAL(format_request({"invalidate", "a\nstatus"}), "");
  CAF_CHECK_EQUAL(format_request({"x", std::string(max_request, 'a')}), "");
  std::vector<std::string> many(max_words + 1, "x");
  CAF_CHECK_EQUAL(format_request(many), "");
  auto line = format_request({"invalidate", "alice@localhost"});
  auto p = parse_request(std::string_view{line}.substr(0, line.size() - 1));
  CAF_REQUIRE(p.req);
  CAF_CHECK_EQUAL(p.req->args[0], "alice@localhost");
}

CAF_TEST(responses are a status line and text) {
  CAF_CHECK_EQUAL(encode({true, "up 5 s"}), "ok\nup 5 s\n");
  CAF_CHECK_EQUAL(encode(response::error("unknown command x\n")),
                  "error\nunknown command x\n");
  CAF_CHECK_EQUAL(encode({true, ""}), "ok\n");
  auto r = decode("error\nno vhost x here\n");
  CAF_REQUIRE(r);
  CAF_CHECK(!r->ok);
  CAF_CHECK_EQUAL(r->text, "no vhost x here\n");
  CAF_CHECK(!decode("HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(!decode("ok"));
  CAF_CHECK(!decode(""));
}

CAF_TEST(a response past its bound is cut at a line with a note) {
  std::string text;
  while (text.size() < max_response + 100)
    text += "alice@localhost: a line of the answer\n";
  auto out = encode({true, text});
  CAF_CHECK(out.size() <= max_response);
  CAF_CHECK(out.rfind("... (cut", std::string::npos) != std::string::npos);
  auto r = decode(out);
  CAF_REQUIRE(r);
  CAF_CHECK(r->ok);
  CAF_CHECK_EQUAL(r->text.back(), '\n');
}
