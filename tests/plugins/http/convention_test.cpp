#define CAF_SUITE plugins.http.convention

// The meaning of a web service's answers to the `http` plugin
// (plugins/http/convention.hpp): every status and body of the convention
// of Prosody's mod_auth_http and MongooseIM's http auth, what is an error
// (never an accept), the roster JSON of Prosody's mod_http_roster_admin,
// the url-encoding of the parameters and the option checks. The network
// paths (down, slow, oversized) are tests/e2e/test_http_userbase.py.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>

#include "hooks/plugin.hpp"
#include "plugins/http/config.hpp"
#include "plugins/http/convention.hpp"
#include "plugins/http/refresh_endpoint.hpp"

using namespace dja;
using namespace dja::plugins::http;
using dja::hooks::account_result;

namespace {

response ok(std::string body, long status = 200) {
  return {status, std::move(body), {}};
}

response broken(std::string why) {
  return {0, {}, std::move(why)};
}

const plugins::option_spec& option(const char* key) {
  static auto all = options();
  for (auto& o : all)
    if (o.key == key)
      return o;
  CAF_FAIL("no option " << key);
  return all.front();
}

} // namespace

CAF_TEST(check_password and user_exists: true and false) {
  auto t = boolean_answer(ok("true"));
  CAF_REQUIRE(t);
  CAF_CHECK(!t->declined && t->value);
  auto f = boolean_answer(ok("false\n")); // a trailing newline is common
  CAF_REQUIRE(f);
  CAF_CHECK(!f->declined && !f->value);
}

CAF_TEST(501 declines to the next plugin) {
  auto d = boolean_answer(ok("", 501));
  CAF_REQUIRE(d);
  CAF_CHECK(d->declined);
  auto a = account_answer(ok("", 501));
  CAF_REQUIRE(a);
  CAF_CHECK(a->declined);
}

CAF_TEST(anything else is an error and never an accept) {
  for (auto body : {"", "yes", "TRUE", "1", "true false", "<html>true</html>"})
    CAF_CHECK(!boolean_answer(ok(body)));
  for (long status : {201L, 204L, 301L, 401L, 403L, 404L, 500L, 503L})
    CAF_CHECK(!boolean_answer(ok("true", status)));
  CAF_CHECK(!boolean_answer(broken("Timeout was reached")));
  CAF_CHECK(!account_answer(broken("Couldn't connect to server")));
  CAF_CHECK(!account_answer(ok("", 500)));
  CAF_CHECK(!account_answer(ok("", 401)));
}

CAF_TEST(account writes by status) {
  auto result = [](long status) {
    auto a = account_answer(ok("", status));
    CAF_REQUIRE(a);
    CAF_REQUIRE(!a->declined);
    return a->value;
  };
  CAF_CHECK(result(200) == account_result::done);
  CAF_CHECK(result(201) == account_result::done);
  CAF_CHECK(result(204) == account_result::done);
  CAF_CHECK(result(403) == account_result::not_allowed);
  CAF_CHECK(result(404) == account_result::not_found);
  CAF_CHECK(result(409) == account_result::conflict);
}

CAF_TEST(parameters are url-encoded) {
  std::string pw = "p&ss=w rd%+";
  CAF_CHECK_EQUAL(auth_params("zo\xc3\xab+x", "ok.test", &pw),
                  "user=zo%C3%AB%2Bx&server=ok.test"
                  "&pass=p%26ss%3Dw%20rd%25%2B");
  CAF_CHECK_EQUAL(auth_params("a", "b", nullptr), "user=a&server=b");
  CAF_CHECK_EQUAL(expand("http://h/roster/%s.json", "a b/c"),
                  "http://h/roster/a%20b%2Fc.json");
}

CAF_TEST(roster JSON of mod_http_roster_admin) {
  size_t skipped = 0;
  auto r = parse_roster(R"({
    "bob@ok.test": {"name": "Bob", "groups": ["Friends", "Work"],
                    "subscription": "to"},
    "carol": {"name": "Carol"},
    "not a jid@@": {"name": "x"},
    "dave@ok.test": "not an object",
    "erin@ok.test": {"subscription": "maybe"}
  })", "ok.test", skipped);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(skipped, 3u);
  CAF_REQUIRE_EQUAL(r->items.size(), 3u);
  auto find = [&](const char* j) -> const roster_item* {
    for (auto& it : r->items)
      if (it.contact.str() == j)
        return &it;
    return nullptr;
  };
  auto bob = find("bob@ok.test");
  CAF_REQUIRE(bob != nullptr);
  CAF_CHECK_EQUAL(bob->name, "Bob");
  CAF_CHECK_EQUAL(bob->subscription, "to");
  CAF_CHECK_EQUAL(bob->groups.size(), 2u);
  auto carol = find("carol@ok.test"); // a bare name is of the vhost
  CAF_REQUIRE(carol != nullptr);
  CAF_CHECK_EQUAL(carol->subscription, "both"); // the default
  auto erin = find("erin@ok.test");
  CAF_REQUIRE(erin != nullptr);
  CAF_CHECK_EQUAL(erin->subscription, "both"); // unknown value: default
  CAF_CHECK(!r->version.empty());
}

CAF_TEST(roster version follows the content) {
  size_t skipped = 0;
  auto a = parse_roster(R"({"bob@x": {"name": "B"}})", "x", skipped);
  auto b = parse_roster(R"({"bob@x": {"name": "B"}})", "x", skipped);
  auto c = parse_roster(R"({"bob@x": {"name": "C"}})", "x", skipped);
  CAF_REQUIRE(a && b && c);
  CAF_CHECK_EQUAL(a->version, b->version);
  CAF_CHECK_NOT_EQUAL(a->version, c->version);
}

CAF_TEST(a roster that is not a JSON object is an error) {
  size_t skipped = 0;
  for (auto body : {"", "[]", "null", "{", "<roster/>", "\"x\""})
    CAF_CHECK(!parse_roster(body, "x", skipped));
}

CAF_TEST(option checks name what was expected) {
  toml::value<std::string> base{"ftp://x/auth"};
  CAF_CHECK(!option("auth_url").check(base).empty());
  toml::value<std::string> query{"http://x/auth?x=1"};
  CAF_CHECK(!option("auth_url").check(query).empty());
  toml::value<std::string> good{"https://x/auth"};
  CAF_CHECK(option("auth_url").check(good).empty());
  toml::value<std::string> no_s{"http://x/roster"};
  CAF_CHECK(!option("roster_url").check(no_s).empty());
  toml::value<std::string> two_s{"http://x/%s/%s"};
  CAF_CHECK(!option("roster_url").check(two_s).empty());
  toml::value<std::string> one_s{"http://x/roster/%s"};
  CAF_CHECK(option("vcard_url").check(one_s).empty());
  toml::value<int64_t> zero{0};
  CAF_CHECK(!option("request_timeout_ms").check(zero).empty());
}

CAF_TEST(the manifest follows the URLs set) {
  toml::table auth_only{{"auth_url", "http://x/auth"}};
  auto m = describe(auth_only);
  CAF_CHECK(!m.hooks.empty());
  CAF_CHECK(m.iqs.empty());
  auto alters = [](const plugins::manifest& m) {
    auto id = hooks::id<hooks::presence_alter_available>;
    return std::find(m.hooks.begin(), m.hooks.end(), id) != m.hooks.end();
  };
  CAF_CHECK(!alters(m));
  toml::table vcard_only{{"vcard_url", "http://x/v/%s"}};
  auto v = describe(vcard_only);
  CAF_CHECK(alters(v)); // XEP-0153 hashes by default
  CAF_CHECK_EQUAL(v.iqs.size(), 1u);
  toml::table no_hash{{"vcard_url", "http://x/v/%s"}, {"avatar_hash", false}};
  CAF_CHECK(!alters(describe(no_hash)));
}

CAF_TEST(the refresh request of mod_http_roster_admin) {
  auto users = parse_refresh_body(R"(["alice", "bob"])");
  CAF_REQUIRE(users);
  CAF_CHECK_EQUAL(users->size(), 2u);
  auto none = parse_refresh_body("[]");
  CAF_REQUIRE(none);
  CAF_CHECK(none->empty());
  for (auto body : {"", "{}", R"({"alice": 1})", "[1]", R"(["a", null])"})
    CAF_CHECK(!parse_refresh_body(body));
  toml::value<std::string> bad{"localhost"};
  CAF_CHECK(!option("refresh_listen").check(bad).empty());
  toml::value<std::string> good{"127.0.0.1:5281"};
  CAF_CHECK(option("refresh_listen").check(good).empty());
}
