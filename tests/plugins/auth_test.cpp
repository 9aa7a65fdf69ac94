#define CAF_SUITE plugins.auth

// The account stores (plugins/auth/): one test body per behaviour, run
// against every backend that can do it: the read hooks against
// auth.static, auth.sqlite and auth.pgsql, the writes against auth.sqlite
// and auth.pgsql (auth.pgsql only when DJA_TEST_PGSQL_DSN names a scratch
// database: tests/e2e/test_pgsql_store_units.py runs this binary so).
// Then what is particular to SQLite files, and the register plugin
// (XEP-0077) on top of auth.sqlite in a real vhost. The plugin actors may
// be detached, so these tests use a real actor_system and a scoped_actor
// instead of the test coordinator.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/messages.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/pgsql_scratch.hpp"
#include "server/registry.hpp"
#include "server/config.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace std::chrono_literals;
using hooks::account_result;
namespace fs = std::filesystem;

namespace {

constexpr const char* secret = "correct horse battery staple 7";

jid J(const char* s) {
  return *jid::parse(s);
}

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
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
    char tmpl[] = "/tmp/auth_test.XXXXXX";
    dir = mkdtemp(tmpl);
    options.insert("file", "accounts.sqlite");
  }

  /// The stores that keep accounts written through the hooks.
  std::vector<std::string> writable() {
    std::vector<std::string> out{"auth.sqlite"};
    if (!test::pgsql_dsn().empty())
      out.emplace_back("auth.pgsql");
    return out;
  }

  /// An empty store of `type` (the previous ones stopped).
  caf::actor fresh(const std::string& type) {
    CAF_MESSAGE("backend " << type);
    for (auto& a : spawned)
      stop(a);
    spawned.clear();
    std::error_code ec;
    fs::remove(dir / "accounts.sqlite", ec);
    fs::remove(dir / "accounts.sqlite-wal", ec);
    fs::remove(dir / "accounts.sqlite-shm", ec);
    if (type == "auth.pgsql") {
      CAF_REQUIRE(test::pgsql_scratch(test::pgsql_dsn()));
      options.insert_or_assign("dsn", test::pgsql_dsn());
    }
    return plugin(type);
  }

  ~fixture() {
    for (auto& a : spawned)
      stop(a);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin(const std::string& type = "auth.sqlite") {
    toml::table opts = options;
    if (type != "auth.sqlite")
      opts.erase("file");
    if (type != "auth.pgsql")
      opts.erase("dsn");
    plugins::spawn_context ctx{sys, "localhost", dir.string(), opts, all,
                               caf::actor{}};
    auto t = plugins::find_type(type);
    CAF_REQUIRE(t != nullptr);
    auto a = t->spawn(ctx);
    spawned.push_back(a);
    return a;
  }

  /// Stops an actor and waits until it is gone.
  void stop(const caf::actor& a) {
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }

  template <class Req>
  caf::expected<typename Req::answer_type> ask(const caf::actor& a, Req req) {
    caf::expected<typename Req::answer_type> res{caf::sec::none};
    self->request(a, 30s, std::move(req))
      .receive([&](typename Req::answer_type& x) { res = std::move(x); },
               [&](caf::error& e) { res = std::move(e); });
    return res;
  }

  /// The stored bytes (database and its WAL).
  std::string file_bytes() {
    return slurp(dir / "accounts.sqlite") + slurp(dir / "accounts.sqlite-wal");
  }
};

bool check(fixture& f, const caf::actor& a, const char* user,
           const std::string& pw) {
  auto r = f.ask(a, hooks::auth_check_password{J(user), pw, "127.0.0.1"});
  return r && !r->declined && r->value;
}

account_result reg(fixture& f, const caf::actor& a, const char* user,
                   const std::string& pw) {
  auto r = f.ask(a, hooks::auth_register{J(user), pw});
  CAF_REQUIRE(r);
  CAF_REQUIRE(!r->declined);
  return r->value;
}

/// The read hooks, for a store in which alice@localhost has `secret`
/// (`salt_per_hash`: random salts, not auth.static's derived one).
void read_checks(fixture& f, const caf::actor& a, bool salt_per_hash) {
  for (auto [name, h] : {std::pair{"SHA-1", crypto::hash_fn::sha1},
                         std::pair{"SHA-256", crypto::hash_fn::sha256}}) {
    auto r = f.ask(a, hooks::auth_get_scram{J("alice@localhost"), name});
    CAF_REQUIRE(r);
    CAF_REQUIRE(!r->declined);
    auto& c = r->value;
    CAF_CHECK(c.found);
    CAF_CHECK_EQUAL(c.salt.size(), 16u);
    CAF_CHECK_EQUAL(c.iterations, 4096u);
    CAF_CHECK_EQUAL(c.stored_key.size(), crypto::digest_size(h));
    auto expected = scram::derive(h, secret, c.salt, c.iterations);
    CAF_CHECK(expected.stored_key == c.stored_key);
    CAF_CHECK(expected.server_key == c.server_key);
  }
  auto sha1 = f.ask(a, hooks::auth_get_scram{J("alice@localhost"), "SHA-1"});
  auto sha256 = f.ask(a, hooks::auth_get_scram{J("alice@localhost"),
                                               "SHA-256"});
  if (salt_per_hash)
    CAF_CHECK(sha1->value.salt != sha256->value.salt);
  // Unknown users and other domains are declined (another plugin may know).
  auto unknown = f.ask(a, hooks::auth_get_scram{J("bob@localhost"),
                                                "SHA-256"});
  CAF_REQUIRE(unknown);
  CAF_CHECK(unknown->declined);
  auto other = f.ask(a, hooks::auth_get_scram{J("alice@example.org"),
                                              "SHA-1"});
  CAF_REQUIRE(other);
  CAF_CHECK(other->declined);
  // PLAIN.
  CAF_CHECK(check(f, a, "alice@localhost", secret));
  CAF_CHECK(check(f, a, "ALICE@localhost", secret)); // prepared JID
  CAF_CHECK(!check(f, a, "alice@localhost", "wrong"));
  CAF_CHECK(!check(f, a, "alice@localhost", ""));
  auto r = f.ask(a, hooks::auth_check_password{J("bob@localhost"), secret,
                                               ""});
  CAF_REQUIRE(r);
  CAF_CHECK(r->declined); // unknown user
  auto e = f.ask(a, hooks::auth_user_exists{J("alice@localhost")});
  CAF_REQUIRE(e);
  CAF_CHECK(!e->declined && e->value);
  e = f.ask(a, hooks::auth_user_exists{J("bob@localhost")});
  CAF_REQUIRE(e);
  CAF_CHECK(e->declined);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(auth_tests, fixture)

CAF_TEST(static: the read hooks) {
  options.insert("users", toml::table{{"alice", secret}});
  auto a = plugin("auth.static");
  read_checks(*this, a, false);
  // Read-only: it serves the read hooks only.
  auto m = plugins::find_type("auth.static")->describe(options);
  CAF_CHECK_EQUAL(m.hooks.size(), 3u);
}

CAF_TEST(writable stores: register then the read hooks) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    CAF_CHECK(reg(*this, a, "alice@localhost", secret)
              == account_result::done);
    read_checks(*this, a, true);
  }
}

CAF_TEST(register twice is a conflict) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    CAF_CHECK(reg(*this, a, "alice@localhost", secret)
              == account_result::done);
    CAF_CHECK(reg(*this, a, "alice@localhost", "other")
              == account_result::conflict);
    CAF_CHECK(check(*this, a, "alice@localhost", secret)); // unchanged
  }
}

CAF_TEST(set_password replaces the old one) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    reg(*this, a, "alice@localhost", secret);
    auto old = ask(a, hooks::auth_get_scram{J("alice@localhost"), "SHA-256"});
    auto r = ask(a, hooks::auth_set_password{J("alice@localhost"), "new pw"});
    CAF_REQUIRE(r);
    CAF_CHECK(r->value == account_result::done);
    CAF_CHECK(!check(*this, a, "alice@localhost", secret));
    CAF_CHECK(check(*this, a, "alice@localhost", "new pw"));
    auto now = ask(a, hooks::auth_get_scram{J("alice@localhost"), "SHA-256"});
    CAF_CHECK(old->value.salt != now->value.salt); // fresh salt
    auto missing = ask(a, hooks::auth_set_password{J("bob@localhost"), "x"});
    CAF_REQUIRE(missing);
    CAF_CHECK(missing->value == account_result::not_found);
  }
}

CAF_TEST(remove_user and user_exists) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    reg(*this, a, "alice@localhost", secret);
    auto e = ask(a, hooks::auth_user_exists{J("alice@localhost")});
    CAF_REQUIRE(e);
    CAF_CHECK(!e->declined && e->value);
    auto r = ask(a, hooks::auth_remove_user{J("alice@localhost")});
    CAF_REQUIRE(r);
    CAF_CHECK(r->value == account_result::done);
    e = ask(a, hooks::auth_user_exists{J("alice@localhost")});
    CAF_REQUIRE(e);
    CAF_CHECK(e->declined);
    CAF_CHECK(!check(*this, a, "alice@localhost", secret));
    r = ask(a, hooks::auth_remove_user{J("alice@localhost")});
    CAF_CHECK(r->value == account_result::not_found);
  }
}

CAF_TEST(list_users) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    reg(*this, a, "carol@localhost", "pw");
    reg(*this, a, "alice@localhost", "pw");
    reg(*this, a, "bob@localhost", "pw");
    auto r = ask(a, hooks::auth_list_users{});
    CAF_REQUIRE(r);
    CAF_CHECK(!r->declined);
    CAF_CHECK_EQUAL(r->value,
                    (std::vector<std::string>{"alice", "bob", "carol"}));
  }
}

CAF_TEST(accounts survive a restart of the plugin) {
  for (auto& type : writable()) {
    auto a = fresh(type);
    reg(*this, a, "alice@localhost", secret);
    stop(a);
    auto b = plugin(type);
    CAF_CHECK(check(*this, b, "alice@localhost", secret));
    CAF_CHECK(reg(*this, b, "alice@localhost", "x")
              == account_result::conflict);
  }
}

CAF_TEST(no plaintext password in the database file) {
  auto a = plugin();
  reg(*this, a, "alice@localhost", secret);
  ask(a, hooks::auth_set_password{J("alice@localhost"), std::string{secret}
                                                          + " 2"});
  auto bytes = file_bytes();
  CAF_CHECK(bytes.find("alice") != std::string::npos); // we read the data
  CAF_CHECK(bytes.find("correct horse") == std::string::npos);
  stop(a);
  bytes = file_bytes();
  CAF_CHECK(bytes.find("alice") != std::string::npos);
  CAF_CHECK(bytes.find("correct horse") == std::string::npos);
  CAF_CHECK_EQUAL(fs::status(dir / "accounts.sqlite").permissions()
                    & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
}

CAF_TEST(a storage failure is an error never an accept) {
  options.insert_or_assign("file", "no/such/dir/accounts.sqlite");
  auto a = plugin();
  auto r = ask(a, hooks::auth_check_password{J("alice@localhost"), "x", ""});
  CAF_CHECK(!r);
  auto s = ask(a, hooks::auth_get_scram{J("alice@localhost"), "SHA-256"});
  CAF_CHECK(!s);
  auto g = ask(a, hooks::auth_register{J("alice@localhost"), "x"});
  CAF_CHECK(!g);
}

CAF_TEST_FIXTURE_SCOPE_END()

// --- register (XEP-0077) on top of auth.sqlite, through a real vhost --------

namespace {

constexpr const char* ns_reg = "jabber:iq:register";

struct vhost_fixture : fixture {
  caf::actor vh;

  explicit vhost_fixture(bool allow_registration = true) {
    config::vhost_cfg v;
    v.domain = "localhost";
    config::plugin_cfg store;
    store.type = "auth.sqlite";
    store.options.insert("file", "accounts.sqlite");
    config::plugin_cfg reg;
    reg.type = "register";
    reg.options.insert("allow_registration", allow_registration);
    // One address registers several accounts here; the per-address
    // interval has its own scenario (limits/registration_interval).
    reg.options.insert("registration_interval", 0);
    v.plugins = {store, reg};
    vh = spawn_vhost(sys, v.domain, make_plugins(v, dir.string()));
  }

  ~vhost_fixture() {
    self->monitor(vh);
    self->send(vh, shutdown_atom::value);
    self->receive([](const caf::down_msg&) {});
  }

  /// Sends an iq:register get/set; `from` empty = before authentication.
  xml::element_ptr iq(const char* type, const char* from,
                      std::vector<std::pair<const char*, const char*>> fields,
                      const char* to = "localhost") {
    auto e = std::make_shared<xml::element>("iq", "jabber:client");
    e->set_attr("type", type);
    e->set_attr("id", "r1");
    e->set_attr("to", to);
    if (*from != '\0')
      e->set_attr("from", from);
    auto& q = e->add_child(xml::element{"query", ns_reg});
    for (auto& [name, text] : fields) {
      auto& c = q.add_child(xml::element{name, ns_reg});
      if (text != nullptr)
        c.add_text(text);
    }
    hooks::iq_request req{e, *from != '\0' ? J(from) : jid{}, J(to)};
    xml::element_ptr reply;
    self->request(vh, 30s, std::move(req))
      .receive([&](xml::element_ptr& r) { reply = std::move(r); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    CAF_REQUIRE(reply != nullptr);
    return reply;
  }

  bool login(const char* user, const char* pw) {
    bool ok = false;
    self->request(vh, 30s, hooks::auth_check_password{J(user), pw, ""})
      .receive([&](bool r) { ok = r; }, [&](caf::error&) {});
    return ok;
  }
};

struct closed_vhost_fixture : vhost_fixture {
  closed_vhost_fixture() : vhost_fixture(false) {}
};

/// "result", or the defined condition of an error reply.
std::string outcome(const xml::element_ptr& r) {
  if (r->attr_or("type") == "result")
    return "result";
  if (auto err = r->child("error"))
    if (auto cond = err->first_element())
      return cond->name;
  return "?";
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(register_tests, vhost_fixture)

CAF_TEST(in-band registration creates an account) {
  auto form = iq("get", "", {});
  CAF_CHECK_EQUAL(outcome(form), "result");
  auto q = form->child("query", ns_reg);
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK(q->child("instructions", ns_reg) != nullptr);
  CAF_CHECK(q->child("username", ns_reg) != nullptr);
  CAF_CHECK(q->child("password", ns_reg) != nullptr);
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"username", "Dave"},
                                         {"password", "pw1"}})),
                  "result");
  CAF_CHECK(login("dave@localhost", "pw1"));
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"username", "dave"},
                                         {"password", "pw2"}})),
                  "conflict");
  CAF_CHECK(login("dave@localhost", "pw1"));
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"username", "a@b"},
                                         {"password", "pw"}})),
                  "jid-malformed");
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"username", "erin"}})),
                  "bad-request");
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"remove", nullptr}})),
                  "not-authorized");
}

CAF_TEST(a user changes their password and removes their account) {
  iq("set", "", {{"username", "dave"}, {"password", "pw1"}});
  auto form = iq("get", "dave@localhost/home", {});
  CAF_CHECK_EQUAL(outcome(form), "result");
  auto q = form->child("query", ns_reg);
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK(q->child("registered", ns_reg) != nullptr);
  CAF_CHECK_EQUAL(q->child("username", ns_reg)->text(), "dave");
  // Without `to` (the session addresses it to the user's bare JID): the
  // same; to somebody else's JID: not ours.
  CAF_CHECK_EQUAL(outcome(iq("get", "dave@localhost/home", {},
                             "dave@localhost")),
                  "result");
  CAF_CHECK_EQUAL(outcome(iq("get", "dave@localhost/home", {},
                             "erin@localhost")),
                  "service-unavailable");
  CAF_CHECK_EQUAL(outcome(iq("set", "dave@localhost/home",
                             {{"username", "erin"}, {"password", "x"}})),
                  "not-authorized");
  CAF_CHECK_EQUAL(outcome(iq("set", "dave@localhost/home",
                             {{"username", "dave"}})),
                  "bad-request");
  CAF_CHECK_EQUAL(outcome(iq("set", "dave@localhost/home",
                             {{"username", "dave"}, {"password", "pw2"}})),
                  "result");
  CAF_CHECK(!login("dave@localhost", "pw1"));
  CAF_CHECK(login("dave@localhost", "pw2"));
  CAF_CHECK_EQUAL(outcome(iq("set", "dave@localhost/home",
                             {{"remove", nullptr}})),
                  "result");
  CAF_CHECK(!login("dave@localhost", "pw2"));
  CAF_CHECK_EQUAL(outcome(iq("set", "dave@localhost/home",
                             {{"username", "dave"}, {"password", "pw3"}})),
                  "item-not-found");
}

CAF_TEST(the stream feature follows allow_registration) {
  auto type = plugins::find_type("register");
  CAF_REQUIRE(type != nullptr);
  toml::table open{{"allow_registration", true}};
  CAF_CHECK_EQUAL(type->describe(open).stream_features,
                  std::vector<std::string>{
                    "http://jabber.org/features/iq-register"});
  CAF_CHECK(type->describe(toml::table{}).stream_features.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(closed_register_tests, closed_vhost_fixture)

CAF_TEST(registration disabled is not allowed) {
  CAF_CHECK_EQUAL(outcome(iq("get", "", {})), "not-allowed");
  CAF_CHECK_EQUAL(outcome(iq("set", "", {{"username", "dave"},
                                         {"password", "pw"}})),
                  "not-allowed");
  CAF_CHECK(!login("dave@localhost", "pw"));
}

CAF_TEST_FIXTURE_SCOPE_END()
