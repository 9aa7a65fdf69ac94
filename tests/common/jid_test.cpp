#define CAF_SUITE common.jid

#include "common/jid.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <set>
#include <string>

using dja::jid;

namespace {

const std::string invalid = "<invalid>";

/// The prepared form of `s`, or "<invalid>".
std::string p(std::string_view s) {
  auto j = jid::parse(s);
  return j ? j->str() : invalid;
}

} // namespace

// RFC 7622 §3.5 (as far as the stringprep profiles of libidn go: nodeprep
// case-folds "ß" to "ss" and "ς" to "σ", where PRECIS keeps both).
CAF_TEST(rfc7622 valid examples) {
  CAF_CHECK_EQUAL(p("juliet@example.com"), "juliet@example.com");
  CAF_CHECK_EQUAL(p("juliet@example.com/foo"), "juliet@example.com/foo");
  CAF_CHECK_EQUAL(p("juliet@example.com/foo bar"),
                  "juliet@example.com/foo bar");
  CAF_CHECK_EQUAL(p("juliet@example.com/foo@bar"),
                  "juliet@example.com/foo@bar");
  CAF_CHECK_EQUAL(p("foo\\20bar@example.com"), "foo\\20bar@example.com");
  CAF_CHECK_EQUAL(p("fussball@example.com"), "fussball@example.com");
  CAF_CHECK_EQUAL(p("fu\xC3\x9F" "ball@example.com"), "fussball@example.com");
  CAF_CHECK_EQUAL(p("\xCF\x80@example.com"), "\xCF\x80@example.com");
  // Σ, σ and ς: case folding (stringprep B.2) maps all three to σ.
  CAF_CHECK_EQUAL(p("\xCE\xA3@example.com/foo"), "\xCF\x83@example.com/foo");
  CAF_CHECK_EQUAL(p("\xCF\x83@example.com/foo"), "\xCF\x83@example.com/foo");
  CAF_CHECK_EQUAL(p("\xCF\x82@example.com/foo"), "\xCF\x83@example.com/foo");
  CAF_CHECK_EQUAL(p("king@example.com/\xE2\x99\x9A"),
                  "king@example.com/\xE2\x99\x9A");
  CAF_CHECK_EQUAL(p("example.com"), "example.com");
  CAF_CHECK_EQUAL(p("example.com/foobar"), "example.com/foobar");
  CAF_CHECK_EQUAL(p("a.example.com/b@example.net"),
                  "a.example.com/b@example.net");
}

// RFC 7622 §3.6.
CAF_TEST(rfc7622 invalid examples) {
  CAF_CHECK_EQUAL(p("\"juliet\"@example.com"), invalid);
  CAF_CHECK_EQUAL(p("foo bar@example.com"), invalid);
  CAF_CHECK_EQUAL(p("juliet@@example.com"), invalid);
  CAF_CHECK_EQUAL(p("juliet@"), invalid);
  CAF_CHECK_EQUAL(p("/foobar"), invalid);
  CAF_CHECK_EQUAL(p("@example.com"), invalid);
  CAF_CHECK_EQUAL(p("@example.com/res"), invalid);
  CAF_CHECK_EQUAL(p("juliet@example.com/"), invalid);
  CAF_CHECK_EQUAL(p("example.com/"), invalid);
  CAF_CHECK_EQUAL(p(""), invalid);
  CAF_CHECK_EQUAL(p("@"), invalid);
  CAF_CHECK_EQUAL(p("/"), invalid);
}

CAF_TEST(prohibited local part characters) {
  for (auto c : {"\"", "&", "'", ":", "<", ">"})
    CAF_CHECK_EQUAL(p(std::string{"a"} + c + "b@example.com"), invalid);
  // '/' and '@' split instead: the parts around them are checked.
  CAF_CHECK_EQUAL(p("a/b@example.com"), "a/b@example.com");
  CAF_CHECK_EQUAL(jid::prep_local("a/b"), std::nullopt);
  CAF_CHECK_EQUAL(jid::prep_local("a@b"), std::nullopt);
}

CAF_TEST(split) {
  auto j = jid::parse("a@b/c@d/e");
  CAF_REQUIRE(j);
  CAF_CHECK_EQUAL(j->local(), "a");
  CAF_CHECK_EQUAL(j->domain(), "b");
  CAF_CHECK_EQUAL(j->resource(), "c@d/e");
  // An '@' after the first '/' belongs to the resource.
  j = jid::parse("b/c@d");
  CAF_REQUIRE(j);
  CAF_CHECK_EQUAL(j->local(), "");
  CAF_CHECK_EQUAL(j->domain(), "b");
  CAF_CHECK_EQUAL(j->resource(), "c@d");
  CAF_CHECK(j->is_full());
  CAF_CHECK_EQUAL(j->bare_str(), "b");
  CAF_CHECK_EQUAL(j->bare().str(), "b");
  CAF_CHECK(j->bare().is_bare());
}

CAF_TEST(case folding) {
  CAF_CHECK_EQUAL(p("Alice@LocalHost/Res"), "alice@localhost/Res");
  CAF_CHECK_EQUAL(p("ALICE@EXAMPLE.COM/RES"), "alice@example.com/RES");
  CAF_CHECK(jid::parse("Alice@LocalHost") == jid::parse("alice@localhost"));
  CAF_CHECK(jid::parse("a@b/Res") != jid::parse("a@b/res"));
}

CAF_TEST(domains) {
  CAF_CHECK_EQUAL(p("example.com."), "example.com");
  CAF_CHECK_EQUAL(p("a@example.com./r"), "a@example.com/r");
  CAF_CHECK_EQUAL(p("example.com.."), invalid);
  CAF_CHECK_EQUAL(p("."), invalid);
  CAF_CHECK_EQUAL(p("a..b"), invalid);
  CAF_CHECK_EQUAL(p(".example.com"), invalid);
  CAF_CHECK_EQUAL(p("-example.com"), invalid);
  CAF_CHECK_EQUAL(p("example-.com"), invalid);
  CAF_CHECK_EQUAL(p("exa_mple.com"), invalid);
  CAF_CHECK_EQUAL(p("exa mple.com"), invalid);
  CAF_CHECK_EQUAL(p("exa:mple.com"), invalid);
  CAF_CHECK_EQUAL(p(std::string(63, 'a') + ".com"),
                  std::string(63, 'a') + ".com");
  CAF_CHECK_EQUAL(p(std::string(64, 'a') + ".com"), invalid);
  // IP literals.
  CAF_CHECK_EQUAL(p("127.0.0.1"), "127.0.0.1");
  CAF_CHECK_EQUAL(p("a@[::1]/r"), "a@[::1]/r");
  CAF_CHECK_EQUAL(p("[0:0::1]"), "[::1]");
  CAF_CHECK_EQUAL(p("[2001:DB8::1]"), "[2001:db8::1]");
  CAF_CHECK_EQUAL(p("[::1"), invalid);
  CAF_CHECK_EQUAL(p("[example.com]"), invalid);
  CAF_CHECK_EQUAL(p("[]"), invalid);
  // IDN: U-labels stay, A-labels become U-labels, ideographic full stop.
  CAF_CHECK_EQUAL(p("B\xC3\x9C" "cher.de"), "b\xC3\xBC" "cher.de");
  CAF_CHECK_EQUAL(p("xn--bcher-kva.de"), "b\xC3\xBC" "cher.de");
  CAF_CHECK_EQUAL(p("example\xE3\x80\x82" "com"), "example.com");
  auto j = jid::make("", "LocalHost");
  CAF_REQUIRE(j);
  CAF_CHECK_EQUAL(j->str(), "localhost");
  CAF_CHECK(!jid::make("", ""));
  CAF_CHECK(!jid::make("a", "", "r"));
}

CAF_TEST(length limits) {
  auto l1023 = std::string(1023, 'a');
  auto l1024 = std::string(1024, 'a');
  CAF_CHECK_EQUAL(p(l1023 + "@example.com"), l1023 + "@example.com");
  CAF_CHECK_EQUAL(p(l1024 + "@example.com"), invalid);
  CAF_CHECK_EQUAL(p("example.com/" + l1023), "example.com/" + l1023);
  CAF_CHECK_EQUAL(p("example.com/" + l1024), invalid);
  // Domain: 1023 bytes in labels of at most 63 octets.
  std::string d;
  while (d.size() + 64 <= 1023)
    d += std::string(63, 'a') + ".";
  d += std::string(1023 - d.size(), 'b');
  CAF_REQUIRE_EQUAL(d.size(), 1023u);
  CAF_CHECK_EQUAL(p(d), d);
  CAF_CHECK_EQUAL(p(d + "b"), invalid);
  // Limits apply after preparation: "ß" (2 bytes) becomes "ss".
  std::string eszett;
  for (int i = 0; i < 511; ++i)
    eszett += "\xC3\x9F";
  CAF_CHECK_EQUAL(jid::prep_local(eszett), std::string(1022, 's'));
  CAF_CHECK_EQUAL(jid::prep_local(eszett + "\xC3\x9F"), std::nullopt);
}

CAF_TEST(unicode resource) {
  auto j = jid::parse("juliet@example.com/"
                       "Balcony \xE2\x99\xA5 \xC3\x89t\xC3\xA9");
  CAF_REQUIRE(j);
  // Resourceprep keeps case.
  CAF_CHECK_EQUAL(j->resource(), "Balcony \xE2\x99\xA5 \xC3\x89t\xC3\xA9");
  // NFKC: "e" + combining acute becomes "é"; fullwidth "Ａ" becomes "A".
  CAF_CHECK_EQUAL(jid::prep_resource("e\xCC\x81"), std::string{"\xC3\xA9"});
  CAF_CHECK_EQUAL(jid::prep_resource("\xEF\xBC\xA1"), std::string{"A"});
  CAF_CHECK_EQUAL(jid::prep_resource("Res"), std::string{"Res"});
  // A resource that maps to nothing (soft hyphen) is empty, so invalid.
  CAF_CHECK_EQUAL(jid::prep_resource("\xC2\xAD"), std::nullopt);
  CAF_CHECK_EQUAL(jid::prep_resource(""), std::nullopt);
  // Control characters are prohibited.
  CAF_CHECK_EQUAL(jid::prep_resource("a\x07"), std::nullopt);
}

CAF_TEST(invalid utf8) {
  CAF_CHECK_EQUAL(p("a\xFF@example.com"), invalid);
  CAF_CHECK_EQUAL(p("a@exam\xC3ple.com"), invalid);
  CAF_CHECK_EQUAL(p("a@example.com/r\xC0\xAF"), invalid);     // overlong
  CAF_CHECK_EQUAL(p("a@example.com/r\xED\xA0\x80"), invalid); // surrogate
  CAF_CHECK_EQUAL(p("a@example.com/r\xF4\x90\x80\x80"), invalid);
  CAF_CHECK_EQUAL(p(std::string_view{"a@example.com/r\0x", 18}), invalid);
}

CAF_TEST(ordering) {
  auto mk = [](const char* s) { return *jid::parse(s); };
  // By domain first, then local part, then resource.
  CAF_CHECK(mk("z@a.example") < mk("a@b.example"));
  CAF_CHECK(mk("a@b.example") < mk("b@b.example"));
  CAF_CHECK(mk("a@b.example") < mk("a@b.example/r"));
  CAF_CHECK(mk("a@b.example/a") < mk("a@b.example/b"));
  CAF_CHECK(!(mk("a@b.example") < mk("a@b.example")));
  std::set<jid> s{mk("b@x"), mk("a@y"), mk("a@x/r"), mk("a@x")};
  std::string all;
  for (auto& j : s)
    all += j.str() + " ";
  CAF_CHECK_EQUAL(all, "a@x a@x/r b@x a@y ");
  CAF_CHECK_EQUAL(std::hash<jid>{}(mk("A@X")), std::hash<jid>{}(mk("a@x")));
}

CAF_TEST(with resource) {
  auto j = jid::parse("a@b");
  CAF_REQUIRE(j);
  auto r = jid::prep_resource("Phone");
  CAF_REQUIRE(r);
  auto f = j->with_resource(*r);
  CAF_CHECK_EQUAL(f.str(), "a@b/Phone");
  CAF_CHECK(f.bare() == *j);
  CAF_CHECK(!jid{}.is_full());
  CAF_CHECK(jid{}.empty());
  CAF_CHECK_EQUAL(jid{}.str(), "");
}
