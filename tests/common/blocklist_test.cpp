#define CAF_SUITE common.blocklist

#include "common/blocklist.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>
#include <vector>

using dja::blocklist;
using dja::jid;

namespace {

jid j(std::string_view s) {
  auto r = jid::parse(s);
  CAF_REQUIRE(r);
  return *r;
}

/// Does a list holding only `item` block `who`?
bool blocks(std::string_view item, std::string_view who) {
  blocklist l;
  l.add(j(item));
  return l.matches(j(who));
}

} // namespace

// XEP-0191 §6, rule 1: user@domain/resource matches only that resource.
CAF_TEST(full jid item) {
  CAF_CHECK(blocks("romeo@montague.net/orchard", "romeo@montague.net/orchard"));
  CAF_CHECK(!blocks("romeo@montague.net/orchard", "romeo@montague.net"));
  CAF_CHECK(!blocks("romeo@montague.net/orchard", "romeo@montague.net/garden"));
  CAF_CHECK(!blocks("romeo@montague.net/orchard", "montague.net"));
  CAF_CHECK(!blocks("romeo@montague.net/orchard", "montague.net/orchard"));
}

// Rule 2: user@domain matches the bare JID and any resource.
CAF_TEST(bare jid item) {
  CAF_CHECK(blocks("romeo@montague.net", "romeo@montague.net"));
  CAF_CHECK(blocks("romeo@montague.net", "romeo@montague.net/orchard"));
  CAF_CHECK(!blocks("romeo@montague.net", "benvolio@montague.net"));
  CAF_CHECK(!blocks("romeo@montague.net", "montague.net"));
  CAF_CHECK(!blocks("romeo@montague.net", "romeo@chat.montague.net"));
}

// Rule 3: domain/resource matches only itself.
CAF_TEST(domain resource item) {
  CAF_CHECK(blocks("montague.net/bot", "montague.net/bot"));
  CAF_CHECK(!blocks("montague.net/bot", "montague.net"));
  CAF_CHECK(!blocks("montague.net/bot", "montague.net/other"));
  CAF_CHECK(!blocks("montague.net/bot", "romeo@montague.net/bot"));
}

// Rule 4: domain matches the domain, everything at it and at its
// subdomains.
CAF_TEST(domain item) {
  CAF_CHECK(blocks("montague.net", "montague.net"));
  CAF_CHECK(blocks("montague.net", "montague.net/bot"));
  CAF_CHECK(blocks("montague.net", "romeo@montague.net"));
  CAF_CHECK(blocks("montague.net", "romeo@montague.net/orchard"));
  CAF_CHECK(blocks("montague.net", "chat.montague.net"));
  CAF_CHECK(blocks("montague.net", "room@conference.chat.montague.net/nick"));
  CAF_CHECK(!blocks("montague.net", "capulet.net"));
  CAF_CHECK(!blocks("montague.net", "evilmontague.net"));
  CAF_CHECK(!blocks("montague.net", "romeo@montague.net.evil"));
  CAF_CHECK(!blocks("chat.montague.net", "montague.net"));
}

// Items are prepared JIDs: matching ignores the case of local part and
// domain as JID comparison does (RFC 7622).
CAF_TEST(prepared) {
  CAF_CHECK(blocks("Romeo@Montague.NET", "romeo@montague.net/x"));
  CAF_CHECK(blocks("romeo@montague.net", "ROMEO@montague.net/x"));
  CAF_CHECK(!blocks("romeo@montague.net/Orchard",
                    "romeo@montague.net/orchard"));
}

CAF_TEST(list operations) {
  blocklist l{std::vector<std::string>{"b@x", "a@x", "not a jid@", "y"}};
  CAF_CHECK_EQUAL(l.items(), (std::vector<std::string>{"a@x", "b@x", "y"}));
  CAF_CHECK(l.matches(j("a@x/r")));
  CAF_CHECK(l.matches(j("z@y")));
  l.remove(j("y"));
  CAF_CHECK(!l.matches(j("z@y")));
  CAF_CHECK(l.contains(j("b@x")));
  l.clear();
  CAF_CHECK(l.empty());
  CAF_CHECK(!l.matches(j("a@x")));
  CAF_CHECK(!blocklist{}.matches(jid{}));
}
