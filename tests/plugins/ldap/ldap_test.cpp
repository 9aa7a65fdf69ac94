#define CAF_SUITE plugins.ldap

// What the `ldap` plugin puts into requests from user input and its
// configuration (plugins/ldap/filter.hpp, vcard_map.hpp, config.hpp):
// RFC 4515 filter values and RFC 4514 DN values escaped, the first RDN of
// a member DN, the option checks, the manifest by settings, and vCards
// from entries (PHOTO with TYPE by magic, image/jpeg otherwise). The
// directory itself is tests/e2e/test_ldap_directory.py (a private slapd).

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>

#include "common/base64.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/common/roster_fold.hpp"
#include "plugins/common/ttl_cache.hpp"
#include "plugins/ldap/config.hpp"
#include "plugins/ldap/filter.hpp"
#include "plugins/ldap/vcard_map.hpp"

using namespace dja;
using namespace dja::plugins::ldap;

namespace {

const plugins::option_spec& option(const char* key) {
  static auto all = options();
  for (auto& o : all)
    if (o.key == key)
      return o;
  CAF_FAIL("no option " << key);
  return all.front();
}

std::string check(const char* key, toml::node&& v) {
  return option(key).check(v);
}

bool serves(const plugins::manifest& m, hooks::hook_id id) {
  return std::find(m.hooks.begin(), m.hooks.end(), id) != m.hooks.end();
}

} // namespace

CAF_TEST(filter values are escaped as RFC 4515 says) {
  CAF_CHECK_EQUAL(escape_filter_value("alice"), "alice");
  CAF_CHECK_EQUAL(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  CAF_CHECK_EQUAL(escape_filter_value("a\\b"), "a\\5cb");
  CAF_CHECK_EQUAL(escape_filter_value(std::string{"a\0b", 3}), "a\\00b");
  CAF_CHECK_EQUAL(filter_for("(&(objectClass=person)(uid=$user))",
                             "*)(uid=*", "example.org"),
                  "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))");
  CAF_CHECK_EQUAL(filter_for("(mail=$user@$domain)", "al*", "ex(ample)"),
                  "(mail=al\\2a@ex\\28ample\\29)");
  // The value is not scanned again: a user named "$domain" stays so.
  CAF_CHECK_EQUAL(filter_for("(uid=$user)", "$domain", "d"),
                  "(uid=$domain)");
}

CAF_TEST(DN values are escaped as RFC 4514 says) {
  CAF_CHECK_EQUAL(dn_for("uid=$user,ou=people,dc=example,dc=org",
                         "alice,ou=admins", "d"),
                  "uid=alice\\,ou\\=admins,ou=people,dc=example,dc=org");
  CAF_CHECK_EQUAL(escape_dn_value("a+b\"c<d>e;f\\g"),
                  "a\\+b\\\"c\\<d\\>e\\;f\\\\g");
  CAF_CHECK_EQUAL(escape_dn_value("#x "), "\\#x\\ ");
  CAF_CHECK_EQUAL(escape_dn_value(" x"), "\\ x");
}

CAF_TEST(the first RDN of a member DN names the user) {
  auto r = first_rdn("uid=alice,ou=people,dc=example,dc=org");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->first, "uid");
  CAF_CHECK_EQUAL(r->second, "alice");
  r = first_rdn("uid=o\\2cbrien\\+x,ou=people");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->second, "o,brien+x");
  CAF_CHECK(!first_rdn("uid=a+cn=b,ou=people"));
  CAF_CHECK(!first_rdn("garbage"));
  CAF_CHECK(iequals("memberUid", "MEMBERUID"));
}

CAF_TEST(options are checked) {
  CAF_CHECK_EQUAL(check("ldap_uri", toml::value<std::string>{
                                      "ldaps://a ldaps://b:636"}),
                  "");
  CAF_CHECK_NOT_EQUAL(check("ldap_uri",
                            toml::value<std::string>{"http://a"}),
                      "");
  CAF_CHECK_NOT_EQUAL(check("ldap_uri", toml::value<std::string>{
                                          "ldap://a ldaps://b"}),
                      "");
  CAF_CHECK_EQUAL(check("filter", toml::value<std::string>{
                                    "(&(objectClass=x)(uid=$user))"}),
                  "");
  for (auto bad : {"uid=$user", "(uid=$user", "(a)(b)", "(a))"})
    CAF_CHECK_NOT_EQUAL(check("filter", toml::value<std::string>{bad}), "");
  CAF_CHECK_NOT_EQUAL(check("bind_dn_template",
                            toml::value<std::string>{"ou=people"}),
                      "");
  toml::table good{{"FN", "cn"}, {"EMAIL/USERID", "mail"},
                   {"FAMILY", "sn"}, {"PHOTO", "jpegPhoto;binary"}};
  CAF_CHECK_EQUAL(check("vcard_map", std::move(good)), "");
  CAF_CHECK_NOT_EQUAL(check("vcard_map", toml::table{{"fn", "cn"}}), "");
  CAF_CHECK_NOT_EQUAL(check("vcard_map", toml::table{{"FN", "c n"}}), "");
}

CAF_TEST(the manifest follows the settings) {
  auto m = describe(toml::table{{"ldap_uri", "ldap://x"}});
  CAF_CHECK_NOT_EQUAL(m.error, "");
  m = describe(toml::table{{"ldap_uri", "ldap://x"}, {"base", "dc=x"}});
  CAF_CHECK(serves(m, hooks::id<hooks::auth_check_password>));
  CAF_CHECK(serves(m, hooks::id<hooks::auth_list_users>));
  // Read-only, and PLAIN only: no writes, no SCRAM.
  CAF_CHECK(!serves(m, hooks::id<hooks::auth_set_password>));
  CAF_CHECK(!serves(m, hooks::id<hooks::auth_register>));
  CAF_CHECK(!serves(m, hooks::id<hooks::auth_get_scram>));
  CAF_CHECK(!serves(m, hooks::id<hooks::roster_get>));
  CAF_CHECK(serves(m, hooks::id<hooks::presence_alter_available>));
  CAF_CHECK_EQUAL(m.iqs.size(), 1u);
  m = describe(toml::table{{"ldap_uri", "ldap://x"},
                           {"bind_dn_template", "uid=$user,dc=x"},
                           {"group_base", "ou=groups"},
                           {"vcard", false}});
  CAF_CHECK(!serves(m, hooks::id<hooks::auth_list_users>));
  CAF_CHECK(serves(m, hooks::id<hooks::roster_get>));
  // Rosters from the directory: who is online, for ctl invalidate's pushes.
  CAF_CHECK(serves(m, hooks::id<hooks::session_bound>));
  CAF_CHECK(serves(m, hooks::id<hooks::cache_invalidate>));
  CAF_CHECK(m.iqs.empty());
}

CAF_TEST(vCards come from the entry by the map) {
  auto [tmpl, attrs] = vcard_template(default_vcard_map());
  entry e;
  e.dn = "uid=alice,ou=people";
  e.attrs["cn"] = {"Alice <&> Liddell"};
  e.attrs["mail"] = {"alice@example.org"};
  e.attrs["jpegphoto"] = {std::string{"\x89PNG\r\n\x1a\n..."}};
  auto v = render_vcard(tmpl, attrs, e);
  CAF_REQUIRE(v != nullptr);
  CAF_CHECK_EQUAL(v->child("FN")->text(), "Alice <&> Liddell");
  CAF_CHECK_EQUAL(v->child("EMAIL")->child("USERID")->text(),
                  "alice@example.org");
  CAF_REQUIRE(v->child("PHOTO") != nullptr);
  CAF_CHECK_EQUAL(v->child("PHOTO")->child("TYPE")->text(), "image/png");
  CAF_CHECK_EQUAL(v->child("PHOTO")->child("BINVAL")->text(),
                  base64::encode(e.attrs["jpegphoto"][0]));
  // No title, no telephone: no empty elements.
  CAF_CHECK(v->child("TITLE") == nullptr);
  CAF_CHECK(v->child("TEL") == nullptr);
  // A photo of no known magic: jpegPhoto is JPEG.
  e.attrs["jpegphoto"] = {"not magic"};
  v = render_vcard(tmpl, attrs, e);
  CAF_CHECK_EQUAL(v->child("PHOTO")->child("TYPE")->text(), "image/jpeg");
  // No photo at all: no PHOTO.
  e.attrs.erase("jpegphoto");
  v = render_vcard(tmpl, attrs, e);
  CAF_CHECK(v->child("PHOTO") == nullptr);
}

CAF_TEST(groups fold into one roster item per contact) {
  // plugins/common/roster_fold.hpp, shared with the sql plugin.
  auto j = [](const char* s) { return *jid::parse(s); };
  plugins::roster_fold fold;
  fold.add(j("bob@x"), "Bob", "to", "Friends");
  fold.add_group("team", {j("alice@x"), j("bob@x"), j("carol@x")},
                 j("alice@x"));
  fold.add_group("ops", {j("carol@x")}, j("alice@x"));
  auto r = fold.finish("ldap");
  CAF_REQUIRE_EQUAL(r.items.size(), 2u); // not alice herself
  CAF_CHECK_EQUAL(r.items[0].contact.str(), "bob@x");
  CAF_CHECK_EQUAL(r.items[0].name, "Bob");
  CAF_CHECK_EQUAL(r.items[0].subscription, "both"); // a group raises it
  CAF_CHECK_EQUAL(r.items[0].groups,
                  (std::vector<std::string>{"Friends", "team"}));
  CAF_CHECK_EQUAL(r.items[1].groups,
                  (std::vector<std::string>{"ops", "team"}));
  CAF_CHECK_EQUAL(r.version.rfind("ldap-", 0), 0u);
  plugins::roster_fold other;
  other.add_group("team", {j("bob@x")}, j("alice@x"));
  CAF_CHECK_NOT_EQUAL(other.finish("ldap").version, r.version);
}

CAF_TEST(the cache keeps results for their ttl only) {
  plugins::ttl_cache<entries> cache;
  entries found{entry{"uid=a", {}}};
  cache.put("k", found, std::chrono::seconds{0}); // ttl 0: not kept
  CAF_CHECK(!cache.get("k"));
  cache.put("k", found, std::chrono::hours{1});
  auto hit = cache.get("k");
  CAF_REQUIRE(hit && hit->size() == 1);
  CAF_CHECK_EQUAL(hit->front().dn, "uid=a");
  cache.clear();
  CAF_CHECK(!cache.get("k"));
}
