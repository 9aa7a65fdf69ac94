#define CAF_SUITE plugins.sql

// The `sql` plugin (plugins/sql/) on SQLite, through its actor pool as the
// vhost calls it: a site's own tables, its bcrypt hashes, its friendships
// and groups, its profiles with avatar blobs. Injection attempts in the
// user name and the password change nothing; an unknown stored form and a
// missing database never accept a login. The workers are detached, so
// the tests use a real actor_system and a scoped_actor.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <filesystem>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/messages.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/sql/password.hpp"
#include "server/registry.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// "s3cret pass" (tests/plugins/sql/password_test.cpp has its origin).
constexpr const char* alice_hash
  = "$2y$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH0ZEW";
constexpr const char* pw = "s3cret pass";
// The first bytes of a PNG file.
const std::string png{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16};

constexpr const char* schema = R"(
CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT UNIQUE, pass TEXT,
                    fullname TEXT, avatar BLOB);
CREATE TABLE friendships (user TEXT, friend TEXT, label TEXT, grp TEXT);
CREATE TABLE teams (team TEXT, member TEXT);
INSERT INTO users (login, pass, fullname) VALUES
  ('bob', 'plain-bob', 'Bob B.'), ('carol', '$9$junk$', 'Carol C.');
INSERT INTO friendships VALUES
  ('alice', 'bob', 'Bobby', 'Friends'), ('alice', 'bob', 'Bobby', 'Work'),
  ('alice', 'dave@example.org', NULL, NULL);
INSERT INTO teams VALUES ('Ops', 'alice'), ('Ops', 'carol');
)";

jid J(const char* s) {
  return *jid::parse(s);
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  toml::table options;
  plugins::manifest all;
  std::vector<caf::actor> spawned;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/sql_test.XXXXXX";
    dir = mkdtemp(tmpl);
    sqlite3* db = nullptr;
    CAF_REQUIRE(sqlite3_open((dir / "site.db").c_str(), &db) == SQLITE_OK);
    CAF_REQUIRE(sqlite3_exec(db, schema, nullptr, nullptr, nullptr)
                == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO users (login, pass, fullname, avatar)"
                       " VALUES ('alice', ?1, 'Alice <A> & Co', ?2)",
                       -1, &s, nullptr);
    sqlite3_bind_text(s, 1, alice_hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, png.data(), static_cast<int>(png.size()),
                      SQLITE_STATIC);
    CAF_REQUIRE(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    options.insert("driver", "sqlite");
    options.insert("database", "site.db");
    options.insert("password_format", "bcrypt");
    options.insert("password_sql",
                   "SELECT pass AS password FROM users WHERE login = :user");
  }

  ~fixture() {
    for (auto& a : spawned)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin() {
    plugins::spawn_context ctx{sys, "localhost", dir.string(), options, all,
                               caf::actor{}};
    auto t = plugins::find_type("sql");
    CAF_REQUIRE(t != nullptr);
    auto a = t->spawn(ctx);
    spawned.push_back(a);
    return a;
  }

  plugins::manifest describe() {
    return plugins::find_type("sql")->describe(options);
  }

  template <class Req>
  caf::expected<typename Req::answer_type> ask(const caf::actor& a, Req req) {
    caf::expected<typename Req::answer_type> res{caf::sec::none};
    self->request(a, 30s, std::move(req))
      .receive([&](typename Req::answer_type& x) { res = std::move(x); },
               [&](caf::error& e) { res = std::move(e); });
    return res;
  }

  /// handled(true) / handled(false) / "declined" / "error".
  std::string login(const caf::actor& a, const std::string& user,
                    const std::string& password) {
    auto j = jid::make(user, "localhost");
    CAF_REQUIRE(j);
    auto r = ask(a, hooks::auth_check_password{*j, password, "127.0.0.1"});
    if (!r)
      return "error";
    if (r->declined)
      return "declined";
    return r->value ? "accepted" : "rejected";
  }

  void sql(const char* text) {
    sqlite3* db = nullptr;
    sqlite3_open((dir / "site.db").c_str(), &db);
    CAF_REQUIRE(sqlite3_exec(db, text, nullptr, nullptr, nullptr)
                == SQLITE_OK);
    sqlite3_close(db);
  }

  int64_t user_count() {
    sqlite3* db = nullptr;
    sqlite3_open((dir / "site.db").c_str(), &db);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM users", -1, &s, nullptr);
    sqlite3_step(s);
    auto n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  }
};

bool serves(const plugins::manifest& m, hooks::hook_id id) {
  return std::find(m.hooks.begin(), m.hooks.end(), id) != m.hooks.end();
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(sql_tests, fixture)

CAF_TEST(a bcrypt password of the site logs in) {
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "alice", pw), "accepted");
  CAF_CHECK_EQUAL(login(a, "alice", "wrong"), "rejected");
  CAF_CHECK_EQUAL(login(a, "nobody", pw), "declined");
  // bcrypt rows give no SCRAM credentials: the vhost offers PLAIN only.
  CAF_CHECK(!serves(describe(), hooks::id<hooks::auth_get_scram>));
  CAF_CHECK(serves(describe(), hooks::id<hooks::auth_check_password>));
  // Read-only by default: no write hook without its query.
  CAF_CHECK(!serves(describe(), hooks::id<hooks::auth_set_password>));
  CAF_CHECK(!serves(describe(), hooks::id<hooks::auth_register>));
}

CAF_TEST(an unknown stored form never accepts) {
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "carol", "$9$junk$"), "rejected");
  CAF_CHECK_EQUAL(login(a, "bob", "plain-bob"), "rejected");
}

CAF_TEST(injection attempts in the user name and password do nothing) {
  options.insert_or_assign(
    "check_password_sql",
    "SELECT 1 FROM users WHERE login = :user AND pass = :password");
  options.insert_or_assign("password_format", "plain");
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "bob", "plain-bob"), "accepted");
  for (auto& attack : {std::string{"x' OR '1'='1"},
                       std::string{"' OR 1=1 --"},
                       std::string{"x'; DROP TABLE users; --"}}) {
    CAF_MESSAGE("password " << attack);
    CAF_CHECK_EQUAL(login(a, "bob", attack), "rejected");
  }
  // RFC 7622 keeps quotes and spaces out of a local part; what it lets
  // through is bound as a value too.
  for (auto& attack : {"bob--", "bob;delete", "bob\\", "%", "bob)or(1=1"})
    CAF_CHECK_EQUAL(login(a, attack, "plain-bob"), "declined");
  CAF_CHECK_EQUAL(user_count(), 3);
}

CAF_TEST(Openfire names and lone question marks) {
  options.erase("password_sql");
  options.erase("password_format");
  options.insert("passwordSQL", "SELECT pass FROM users WHERE login = ?");
  options.insert("passwordType", "plain");
  CAF_CHECK(serves(describe(), hooks::id<hooks::auth_get_scram>));
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "bob", "plain-bob"), "accepted");
  auto r = ask(a, hooks::auth_get_scram{J("bob@localhost"), "SHA-256"});
  CAF_REQUIRE(r);
  CAF_CHECK(!r->declined && r->value.found);
}

CAF_TEST(a missing database is an error and never a wrong password) {
  options.insert_or_assign("database", "no-such.db");
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "alice", pw), "error");
  CAF_CHECK(!fs::exists(dir / "no-such.db")); // never created
}

CAF_TEST(set_password writes the format of the site) {
  options.insert("set_password_sql",
                 "UPDATE users SET pass = :password WHERE login = :user");
  CAF_CHECK(serves(describe(), hooks::id<hooks::auth_set_password>));
  auto a = plugin();
  auto r = ask(a, hooks::auth_set_password{J("alice@localhost"), "new pw"});
  CAF_REQUIRE(r);
  CAF_CHECK(!r->declined && r->value == hooks::account_result::done);
  CAF_CHECK_EQUAL(login(a, "alice", "new pw"), "accepted");
  CAF_CHECK_EQUAL(login(a, "alice", pw), "rejected");
  // allowUpdate = false (Openfire) turns it off.
  options.insert("allowUpdate", false);
  CAF_CHECK(!serves(describe(), hooks::id<hooks::auth_set_password>));
}

CAF_TEST(rosters from friendships and shared groups) {
  options.insert("roster_sql",
                 "SELECT friend AS contact, label AS name, grp AS \"group\""
                 " FROM friendships WHERE user = :user");
  options.insert("user_groups_sql", "SELECT team FROM teams WHERE member = ?");
  options.insert("group_members_sql",
                 "SELECT member FROM teams WHERE team = :group");
  auto a = plugin();
  auto r = ask(a, hooks::roster_get{J("alice@localhost")});
  CAF_REQUIRE(r);
  CAF_REQUIRE(!r->declined);
  auto& items = r->value.items;
  CAF_REQUIRE_EQUAL(items.size(), 3u);
  // Folded per contact, sorted by JID.
  CAF_CHECK_EQUAL(items[0].contact, J("bob@localhost"));
  CAF_CHECK_EQUAL(items[0].name, "Bobby");
  CAF_CHECK_EQUAL(items[0].subscription, "both");
  CAF_CHECK((items[0].groups == std::vector<std::string>{"Friends", "Work"}));
  CAF_CHECK_EQUAL(items[1].contact, J("carol@localhost"));
  CAF_CHECK((items[1].groups == std::vector<std::string>{"Ops"}));
  CAF_CHECK_EQUAL(items[2].contact, J("dave@example.org"));
  auto one = ask(a, hooks::roster_load_item{J("alice@localhost"),
                                            J("carol@localhost")});
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(one->value.size(), 1u);
  // Carol sees alice through the shared group.
  auto c = ask(a, hooks::roster_get{J("carol@localhost")});
  CAF_REQUIRE(c);
  CAF_REQUIRE_EQUAL(c->value.items.size(), 1u);
  CAF_CHECK_EQUAL(c->value.items[0].contact, J("alice@localhost"));
}

CAF_TEST(vcards from profiles with avatar blobs) {
  options.insert("vcard_sql",
                 "SELECT fullname AS fn, login AS nickname, avatar AS photo"
                 " FROM users WHERE login = :user");
  auto a = plugin();
  auto iq = std::make_shared<xml::element>("iq", "jabber:client");
  iq->set_attr("type", "get").set_attr("id", "v1");
  iq->add_child(xml::element{"vCard", "vcard-temp"});
  auto r = ask(a, hooks::iq_request{iq, J("bob@localhost/r"),
                                    J("alice@localhost")});
  CAF_REQUIRE(r);
  CAF_REQUIRE(!r->declined && r->value);
  auto text = xml::to_string(*r->value);
  CAF_MESSAGE(text);
  CAF_CHECK(text.find("<FN>Alice &lt;A&gt; &amp; Co</FN>")
            != std::string::npos);
  CAF_CHECK(text.find("<TYPE>image/png</TYPE>") != std::string::npos);
  CAF_CHECK(text.find("<BINVAL>iVBORw0KGgoAAAANSUhEUg==</BINVAL>")
            != std::string::npos);
  CAF_CHECK(text.find("EMAIL") == std::string::npos); // no column: pruned
  // Bob has no avatar: no PHOTO at all.
  auto b = ask(a, hooks::iq_request{iq, J("alice@localhost/r"),
                                    J("bob@localhost")});
  CAF_REQUIRE(b && b->value);
  CAF_CHECK(xml::to_string(*b->value).find("PHOTO") == std::string::npos);
  // XEP-0153: alice's presence carries her photo's hash.
  auto p = std::make_shared<xml::element>("presence", "jabber:client");
  auto alt = ask(a, hooks::presence_alter_available{p, J("alice@localhost/r")});
  CAF_REQUIRE(alt);
  CAF_REQUIRE(!alt->declined && alt->value.stanza);
  CAF_CHECK(xml::to_string(*alt->value.stanza).find("vcard-temp:x:update")
            != std::string::npos);
}

CAF_TEST(the cache keeps rows for cache_ttl) {
  options.insert("cache_ttl", int64_t{60});
  auto a = plugin();
  CAF_CHECK_EQUAL(login(a, "alice", pw), "accepted");
  sql("UPDATE users SET pass = 'changed' WHERE login = 'alice'");
  // Every worker of the pool sees the cached row.
  for (int i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(login(a, "alice", pw), "accepted");
  // Without a cache the change shows at once.
  options.erase("cache_ttl");
  CAF_CHECK_EQUAL(login(plugin(), "alice", pw), "rejected");
}

CAF_TEST(presence known to the site goes to subscribers only) {
  sql("CREATE TABLE online (login TEXT, mood TEXT, note TEXT);"
      " INSERT INTO online VALUES ('alice', 'away', 'on the web site');");
  options.insert("roster_sql",
                 "SELECT friend FROM friendships WHERE user = :user");
  options.insert("presence_sql",
                 "SELECT mood AS show, note AS status FROM online"
                 " WHERE login = :user");
  CAF_CHECK(serves(describe(), hooks::id<hooks::presence_check>));
  auto a = plugin();
  auto r = ask(a, hooks::presence_check{J("bob@localhost/r"),
                                        J("alice@localhost")});
  CAF_REQUIRE(r && !r->declined);
  CAF_REQUIRE_EQUAL(r->value.size(), 1u);
  auto text = xml::to_string(*r->value[0]);
  CAF_MESSAGE(text);
  CAF_CHECK(text.find("from='alice@localhost/site'") != std::string::npos);
  CAF_CHECK(text.find("<show>away</show>") != std::string::npos);
  CAF_CHECK(text.find("<status>on the web site</status>")
            != std::string::npos);
  // Not in alice's roster: nothing, and not bob's presence for anyone.
  auto m = ask(a, hooks::presence_check{J("mallory@localhost/r"),
                                        J("alice@localhost")});
  CAF_REQUIRE(m && !m->declined);
  CAF_CHECK(m->value.empty());
  auto b = ask(a, hooks::presence_check{J("alice@localhost/r"),
                                        J("bob@localhost")});
  CAF_REQUIRE(b && !b->declined);
  CAF_CHECK(b->value.empty());
}

CAF_TEST(SCRAM columns of ejabberd and Prosody) {
  using crypto::hash_fn;
  auto c = scram::derive(hash_fn::sha1, pw, "pepper-salt", 4096);
  auto hex = [](const std::string& raw) {
    static constexpr char d[] = "0123456789abcdef";
    std::string out;
    for (unsigned char x : raw)
      out += std::string{d[x >> 4]} + d[x & 15];
    return out;
  };
  // ejabberd's users table: base64 keys and salt, iterationcount.
  sql(("CREATE TABLE ej (username TEXT, password TEXT, serverkey TEXT,"
       " salt TEXT, iterationcount INTEGER);"
       " INSERT INTO ej VALUES ('erin', '" + base64::encode(c.stored_key)
       + "', '" + base64::encode(c.server_key) + "', '"
       + base64::encode("pepper-salt") + "', 4096);"
       // Prosody's accounts: hex keys, the salt as text.
       " CREATE TABLE pr (user TEXT, stored_key TEXT, server_key TEXT,"
       " salt_raw TEXT, iteration_count INTEGER);"
       " INSERT INTO pr VALUES ('erin', '" + hex(c.stored_key) + "', '"
       + hex(c.server_key) + "', 'pepper-salt', 4096);")
        .c_str());
  options.insert_or_assign("password_format", "scram-sha-1");
  for (auto q : {"SELECT password, serverkey, salt, iterationcount FROM ej"
                 " WHERE username = :user",
                 "SELECT * FROM pr WHERE user = :user"}) {
    CAF_MESSAGE(q);
    options.insert_or_assign("password_sql", q);
    CAF_CHECK(serves(describe(), hooks::id<hooks::auth_get_scram>));
    auto a = plugin();
    auto r = ask(a, hooks::auth_get_scram{J("erin@localhost"), "SHA-1"});
    CAF_REQUIRE(r && !r->declined);
    CAF_CHECK(r->value.found);
    CAF_CHECK(r->value.stored_key == c.stored_key);
    CAF_CHECK(r->value.server_key == c.server_key);
    CAF_CHECK_EQUAL(r->value.salt, "pepper-salt");
    CAF_CHECK_EQUAL(r->value.iterations, 4096u);
    // Stored for SHA-1 only: no SHA-256 credentials.
    auto r256 = ask(a, hooks::auth_get_scram{J("erin@localhost"), "SHA-256"});
    CAF_REQUIRE(r256);
    CAF_CHECK(r256->declined);
    // PLAIN is checked against the same columns.
    CAF_CHECK_EQUAL(login(a, "erin", pw), "accepted");
    CAF_CHECK_EQUAL(login(a, "erin", "wrong"), "rejected");
  }
}

CAF_TEST(a stored vCard element as the content of the template) {
  sql("CREATE TABLE vcard (username TEXT, vcard TEXT);"
      " INSERT INTO vcard VALUES ('alice', '<vCard xmlns=\"vcard-temp\">"
      "<FN>Alice</FN><NOTE>a &amp; b</NOTE></vCard>');");
  options.insert("vcard_sql", "SELECT vcard FROM vcard WHERE username = ?");
  options.insert("vcard_template",
                 "<vCard xmlns='vcard-temp'>{vcard|elements}</vCard>");
  auto a = plugin();
  auto iq = std::make_shared<xml::element>("iq", "jabber:client");
  iq->set_attr("type", "get").set_attr("id", "v2");
  iq->add_child(xml::element{"vCard", "vcard-temp"});
  auto r = ask(a, hooks::iq_request{iq, J("bob@localhost/r"),
                                    J("alice@localhost")});
  CAF_REQUIRE(r && !r->declined && r->value);
  auto text = xml::to_string(*r->value);
  CAF_MESSAGE(text);
  CAF_CHECK(text.find("<FN>Alice</FN><NOTE>a &amp; b</NOTE>")
            != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
