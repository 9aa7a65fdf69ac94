#define CAF_SUITE plugins.vcard_private_last

// vcard (XEP-0054), private (XEP-0049) and last (XEP-0012) behind a real
// vhost (with auth.static for the accounts): the same checks against the
// memory backends and against real SQLite files in a temporary directory
// (plugins/vcard/serve.hpp, plugins/private/serve.hpp over
// plugins/common/docs/store.hpp); what survives a restart against SQLite
// only. The SQLite plugins are detached, so these tests use a real
// actor_system and a scoped_actor instead of the test coordinator.
// (The PostgreSQL stores are played end to end by
// tests/e2e/test_pgsql_scenarios.py.)

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/messages.hpp"
#include "common/stored_xml.hpp"
#include "common/xml.hpp"
#include "hooks/catalogue.hpp"
#include "server/registry.hpp"
#include "plugins/vcard/common/photo_hash.hpp"
#include "server/config.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

xml::element_ptr X(const std::string& s) {
  auto e = xml::parse_stored(s);
  CAF_REQUIRE(e != nullptr);
  return e;
}

/// The stanza error condition of a reply ("" when it is no error).
std::string condition(const xml::element& reply) {
  if (reply.attr_or("type") != "error")
    return "";
  auto err = reply.child("error");
  if (err == nullptr || err->first_element() == nullptr)
    return "?";
  return err->first_element()->name;
}

struct fixture {
  /// "memory" or "sqlite": the vcard.* and private.* plugins.
  std::string backend = "sqlite";
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  caf::actor vh;
  toml::table last_options;
  toml::table private_options;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/vcard_private_last_test.XXXXXX";
    dir = mkdtemp(tmpl);
    last_options.insert("file", "last.sqlite");
  }

  ~fixture() {
    stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void start() {
    config::vhost_cfg v;
    v.domain = "localhost";
    config::plugin_cfg auth;
    auth.type = "auth.static";
    toml::table users;
    users.insert("alice", "pw");
    users.insert("bob", "pw");
    auth.options.insert("users", users);
    config::plugin_cfg vcard;
    vcard.type = "vcard." + backend;
    vcard.options.insert("max_bytes", 2048);
    config::plugin_cfg priv;
    priv.type = "private." + backend;
    priv.options = private_options;
    config::plugin_cfg last;
    last.type = "last";
    last.options = last_options;
    if (backend == "memory")
      last.options.erase("file");
    v.plugins = {auth, vcard, priv, last};
    vh = spawn_vhost(sys, v.domain, make_plugins(v, dir.string()));
  }

  /// Stops and starts the vhost again: what a database keeps survives.
  /// (The memory backends lose everything on a restart: not for them.)
  void restart() {
    if (backend == "memory")
      return;
    stop();
    start();
  }

  void stop() {
    if (!vh)
      return;
    self->monitor(vh);
    self->send(vh, shutdown_atom::value);
    self->receive([](const caf::down_msg&) {});
    vh = nullptr;
  }

  static hooks::iq_request make(const char* from, const char* to,
                                const std::string& iq) {
    auto e = std::make_shared<xml::element>(*X(iq));
    e->set_attr("from", from);
    return hooks::iq_request{e, J(from), J(to)};
  }

  /// Sends `iq` (from/to stamped as the session does) through the vhost.
  xml::element_ptr ask(const char* from, const char* to,
                       const std::string& iq) {
    xml::element_ptr reply;
    self->request(vh, 30s, make(from, to, iq))
      .receive([&](xml::element_ptr& r) { reply = std::move(r); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    CAF_REQUIRE(reply != nullptr);
    return reply;
  }

  /// Sends `iq` to a plugin actor directly.
  xml::element_ptr ask(const caf::actor& plugin, const char* from,
                       const char* to, const std::string& iq) {
    xml::element_ptr reply;
    self->request(plugin, 30s, make(from, to, iq))
      .receive(
        [&](hooks::answer<xml::element_ptr>& r) {
          CAF_REQUIRE(!r.declined);
          reply = std::move(r.value);
        },
        [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    CAF_REQUIRE(reply != nullptr);
    return reply;
  }
};

constexpr const char* alice = "alice@localhost/home";
constexpr const char* bob = "bob@localhost/work";

const std::string vcard_set
  = "<iq type='set' id='v1'><vCard xmlns='vcard-temp'>"
    "<FN>Alice &amp; Co</FN><NICKNAME>al</NICKNAME></vCard></iq>";
const std::string vcard_get
  = "<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>";

std::string fn_of(const xml::element& reply) {
  auto v = reply.child("vCard", "vcard-temp");
  if (v == nullptr)
    return "<none>";
  auto fn = v->child("FN", "vcard-temp");
  return fn == nullptr ? "" : fn->text();
}

/// The checks, each run against every backend.
struct checks : fixture {
  void vcard_set_then_get_own_and_of_another_user();
  void vcard_set_of_another_user_is_forbidden_and_changes_nothing();
  void vcard_survives_a_restart_and_an_empty_set_clears_it();
  void vcard_over_max_bytes_is_refused();
  void vcard_plugin_spawned_alone_from_its_type();
  void photo_hash();
  void avatar_hash_in_available_presence_follows_the_vcard();
  void private_set_and_get();
  void private_errors();
  void private_quota();
  void last_activity_of_the_server();
  void last_activity_of_a_user();
  void last_activity_carries_the_status_of_the_last_unavailable();
  void last_activity_visible_to_the_vhost();
};

struct sqlite_checks : checks {
  sqlite_checks() {
    start();
  }
};

struct memory_checks : checks {
  memory_checks() {
    backend = "memory";
    start();
  }
};

} // namespace


void checks::vcard_set_then_get_own_and_of_another_user() {
  auto r = ask(alice, "alice@localhost", vcard_set);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  r = ask(alice, "alice@localhost", vcard_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_EQUAL(fn_of(*r), "Alice & Co");
  r = ask(bob, "alice@localhost", vcard_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_EQUAL(fn_of(*r), "Alice & Co");
  // Nothing stored: an empty vCard, for oneself and for others.
  r = ask(bob, "bob@localhost", vcard_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_EQUAL(fn_of(*r), "");
  r = ask(alice, "bob@localhost", vcard_get);
  CAF_CHECK_EQUAL(fn_of(*r), "");
  // No such account.
  r = ask(alice, "nobody@localhost", vcard_get);
  CAF_CHECK_EQUAL(condition(*r), "service-unavailable");
  // The server has no vCard.
  r = ask(alice, "localhost", vcard_get);
  CAF_CHECK_EQUAL(condition(*r), "item-not-found");
}

void checks::vcard_set_of_another_user_is_forbidden_and_changes_nothing() {
  ask(bob, "bob@localhost",
      "<iq type='set' id='b'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>"
      "</iq>");
  auto r = ask(alice, "bob@localhost", vcard_set);
  CAF_CHECK_EQUAL(condition(*r), "forbidden");
  r = ask(alice, "localhost", vcard_set);
  CAF_CHECK_EQUAL(condition(*r), "forbidden");
  r = ask(bob, "bob@localhost", vcard_get);
  CAF_CHECK_EQUAL(fn_of(*r), "Bob");
}

void checks::vcard_survives_a_restart_and_an_empty_set_clears_it() {
  ask(alice, "alice@localhost", vcard_set);
  restart();
  auto r = ask(bob, "alice@localhost", vcard_get);
  CAF_CHECK_EQUAL(fn_of(*r), "Alice & Co");
  r = ask(alice, "alice@localhost",
          "<iq type='set' id='c'><vCard xmlns='vcard-temp'/></iq>");
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  r = ask(bob, "alice@localhost", vcard_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_EQUAL(fn_of(*r), "");
}

void checks::vcard_over_max_bytes_is_refused() {
  std::string big(3000, 'x');
  auto r = ask(alice, "alice@localhost",
               "<iq type='set' id='big'><vCard xmlns='vcard-temp'><DESC>" + big
                 + "</DESC></vCard></iq>");
  CAF_CHECK_EQUAL(condition(*r), "not-acceptable");
  r = ask(alice, "alice@localhost", vcard_get);
  CAF_CHECK_EQUAL(fn_of(*r), "");
}

void checks::vcard_plugin_spawned_alone_from_its_type() {
  toml::table options;
  plugins::manifest all;
  plugins::spawn_context ctx{sys, "localhost", dir.string(), options, all,
                             caf::actor{}};
  auto type = plugins::find_type("vcard." + backend);
  CAF_REQUIRE(type != nullptr);
  auto m = type->describe(options);
  CAF_CHECK_EQUAL(m.features.size(), 1u);
  auto a = type->spawn(ctx);
  auto r = ask(a, "carol@localhost/x", "carol@localhost",
               "<iq type='set' id='s'><vCard xmlns='vcard-temp'><FN>C</FN>"
               "</vCard></iq>");
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  r = ask(a, "carol@localhost/x", "carol@localhost", vcard_get);
  CAF_CHECK_EQUAL(fn_of(*r), "C");
  self->monitor(a);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
}

void checks::photo_hash() {
  auto v = X("<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>"
             "<BINVAL>"
             + base64::encode("abc").substr(0, 2) + "\n "
             + base64::encode("abc").substr(2) + "</BINVAL></PHOTO></vCard>");
  // SHA-1("abc")
  auto h = plugins::vcard::photo_hash(*v);
  CAF_REQUIRE(h);
  CAF_CHECK_EQUAL(*h, "a9993e364706816aba3e25717850c26c9cd0d89d");
  auto none = plugins::vcard::photo_hash(*X("<vCard xmlns='vcard-temp'/>"));
  CAF_REQUIRE(none);
  CAF_CHECK_EQUAL(*none, "");
  auto bad = X("<vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!</BINVAL></PHOTO>"
               "</vCard>");
  CAF_CHECK(!plugins::vcard::photo_hash(*bad));
}

/// The XEP-0153 <photo/> the vhost's presence.alter_available fold puts
/// into `pres` (from alice): its text, "<unchanged>" when the very same
/// presence came back, "<none>" when it has no x:update.
std::string photo_in(checks& f, xml::element_ptr pres) {
  hooks::filter_verdict v;
  f.self
    ->request(f.vh, 30s,
              hooks::presence_alter_available{pres, J(alice)})
    .receive([&](hooks::filter_verdict& x) { v = std::move(x); },
             [&](caf::error& err) { CAF_FAIL(f.sys.render(err)); });
  CAF_REQUIRE(v.stanza != nullptr);
  if (v.stanza == pres)
    return "<unchanged>";
  auto x = v.stanza->child("x", "vcard-temp:x:update");
  auto photo = x ? x->child("photo", "vcard-temp:x:update") : nullptr;
  return photo ? photo->text() : "<none>";
}

void checks::avatar_hash_in_available_presence_follows_the_vcard() {
  auto pres = [] {
    return std::make_shared<xml::element>(*X("<presence from='"
                                             + std::string{alice} + "'/>"));
  };
  // No vCard: an empty <photo/> (no avatar).
  CAF_CHECK_EQUAL(photo_in(*this, pres()), "");
  // A photo: the SHA-1 of the decoded BINVAL, at once after the set.
  ask(alice, "alice@localhost",
      "<iq type='set' id='p1'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>"
        + base64::encode("abc") + "</BINVAL></PHOTO></vCard></iq>");
  CAF_CHECK_EQUAL(photo_in(*this, pres()),
                  "a9993e364706816aba3e25717850c26c9cd0d89d");
  ask(alice, "alice@localhost",
      "<iq type='set' id='p2'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>"
        + base64::encode("abcd") + "</BINVAL></PHOTO></vCard></iq>");
  // SHA-1("abcd")
  CAF_CHECK_EQUAL(photo_in(*this, pres()),
                  "81fe8bfe87576c3ecb22426f8e57847382917acf");
  // The client's own x:update is left alone.
  auto own = std::make_shared<xml::element>(
    *X("<presence><x xmlns='vcard-temp:x:update'/></presence>"));
  CAF_CHECK_EQUAL(photo_in(*this, own), "<unchanged>");
  // A BINVAL that is not base64: nothing announced.
  ask(alice, "alice@localhost",
      "<iq type='set' id='p3'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!"
      "</BINVAL></PHOTO></vCard></iq>");
  CAF_CHECK_EQUAL(photo_in(*this, pres()), "<unchanged>");
  // No PHOTO: empty again; and the hash survives a restart (read back).
  ask(alice, "alice@localhost",
      "<iq type='set' id='p4'><vCard xmlns='vcard-temp'><FN>A</FN>"
      "</vCard></iq>");
  CAF_CHECK_EQUAL(photo_in(*this, pres()), "");
  ask(alice, "alice@localhost",
      "<iq type='set' id='p5'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>"
        + base64::encode("abc") + "</BINVAL></PHOTO></vCard></iq>");
  restart();
  CAF_CHECK_EQUAL(photo_in(*this, pres()),
                  "a9993e364706816aba3e25717850c26c9cd0d89d");
}

// --- private XML storage ------------------------------------------------------

void checks::private_set_and_get() {
  auto r = ask(alice, "alice@localhost",
               "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
               "<prefs xmlns='urn:example:prefs'><v>1</v></prefs>"
               "<storage xmlns='storage:bookmarks'><conference jid='r@c'/>"
               "</storage></query></iq>");
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  r = ask(alice, "alice@localhost",
          "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
          "<prefs xmlns='urn:example:prefs'/></query></iq>");
  CAF_REQUIRE_EQUAL(r->attr_or("type"), "result");
  auto q = r->child("query", "jabber:iq:private");
  CAF_REQUIRE(q != nullptr);
  auto p = q->child("prefs", "urn:example:prefs");
  CAF_REQUIRE(p != nullptr);
  CAF_CHECK_EQUAL(p->child("v", "urn:example:prefs")->text(), "1");
  // survives a restart
  restart();
  r = ask(alice, "alice@localhost",
          "<iq type='get' id='p3'><query xmlns='jabber:iq:private'>"
          "<storage xmlns='storage:bookmarks'/></query></iq>");
  q = r->child("query", "jabber:iq:private");
  CAF_REQUIRE(q != nullptr);
  auto s = q->child("storage", "storage:bookmarks");
  CAF_REQUIRE(s != nullptr);
  CAF_CHECK(s->child("conference", "storage:bookmarks") != nullptr);
  // nothing stored: the element as asked
  r = ask(bob, "bob@localhost",
          "<iq type='get' id='p4'><query xmlns='jabber:iq:private'>"
          "<prefs xmlns='urn:example:prefs'/></query></iq>");
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  q = r->child("query", "jabber:iq:private");
  CAF_REQUIRE(q != nullptr);
  p = q->child("prefs", "urn:example:prefs");
  CAF_REQUIRE(p != nullptr);
  CAF_CHECK(p->children.empty());
}

void checks::private_errors() {
  const std::string get_prefs
    = "<iq type='get' id='p'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='urn:example:prefs'/></query></iq>";
  CAF_CHECK_EQUAL(condition(*ask(alice, "bob@localhost", get_prefs)),
                  "forbidden");
  CAF_CHECK_EQUAL(condition(*ask(alice, "localhost", get_prefs)),
                  "forbidden");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "bob@localhost",
                   "<iq type='set' id='p'><query xmlns='jabber:iq:private'>"
                   "<prefs xmlns='urn:example:prefs'/></query></iq>")),
    "forbidden");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "alice@localhost",
                   "<iq type='get' id='p'><query xmlns='jabber:iq:private'/>"
                   "</iq>")),
    "bad-request");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "alice@localhost",
                   "<iq type='set' id='p'><query xmlns='jabber:iq:private'/>"
                   "</iq>")),
    "not-acceptable");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "alice@localhost",
                   "<iq type='set' id='p'><query xmlns='jabber:iq:private'>"
                   "<query xmlns='jabber:iq:roster'/></query></iq>")),
    "not-acceptable");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "alice@localhost",
                   "<iq type='set' id='p'><query xmlns='jabber:iq:private'>"
                   "<x/></query></iq>")),
    "not-acceptable");
  CAF_CHECK_EQUAL(
    condition(*ask(alice, "alice@localhost",
                   "<iq type='get' id='p'><query xmlns='jabber:iq:private'>"
                   "<a xmlns='urn:a'/><b xmlns='urn:b'/></query></iq>")),
    "bad-request");
}

/// A set of one element of namespace urn:NAME holding `n` bytes of text.
std::string private_set(const std::string& name, size_t n) {
  return "<iq type='set' id='q'><query xmlns='jabber:iq:private'><" + name
         + " xmlns='urn:" + name + "'>" + std::string(n, 'x') + "</" + name
         + "></query></iq>";
}

void checks::private_quota() {
  stop();
  private_options.insert("quota", 3000);
  start();
  auto set = [this](const std::string& name, size_t n) {
    return condition(*ask(alice, "alice@localhost", private_set(name, n)));
  };
  CAF_CHECK_EQUAL(set("a", 1000), "");
  CAF_CHECK_EQUAL(set("b", 1000), "");
  // A third one would take the account over 3000 bytes: refused, and
  // nothing stored.
  CAF_CHECK_EQUAL(set("c", 1000), "not-acceptable");
  auto r = ask(alice, "alice@localhost",
               "<iq type='get' id='g'><query xmlns='jabber:iq:private'>"
               "<c xmlns='urn:c'/></query></iq>");
  CAF_CHECK_EQUAL(r->child("query", "jabber:iq:private")
                    ->child("c", "urn:c")
                    ->text(),
                  "");
  // Replacing counts the new size only: shrink a, then c fits.
  CAF_CHECK_EQUAL(set("a", 10), "");
  CAF_CHECK_EQUAL(set("c", 1000), "");
  CAF_CHECK_EQUAL(set("a", 1000), "not-acceptable");
  // Another account has its own quota.
  CAF_CHECK_EQUAL(condition(*ask(bob, "bob@localhost",
                                 private_set("a", 2500))),
                  "");
  // Kept across a restart: the sizes are the stored ones.
  restart();
  CAF_CHECK_EQUAL(set("d", 1000), "not-acceptable");
  CAF_CHECK_EQUAL(set("d", 500), "");
}

// --- last activity --------------------------------------------------------------

const std::string last_get
  = "<iq type='get' id='l'><query xmlns='jabber:iq:last'/></iq>";

long seconds_of(const xml::element& reply) {
  auto q = reply.child("query", "jabber:iq:last");
  if (q == nullptr || q->attr("seconds") == nullptr)
    return -1;
  return std::stol(*q->attr("seconds"));
}

void checks::last_activity_of_the_server() {
  auto r = ask(alice, "localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_GREATER_OR_EQUAL(seconds_of(*r), 0);
}

void checks::last_activity_of_a_user() {
  // Never seen since the store exists.
  CAF_CHECK_EQUAL(condition(*ask(alice, "alice@localhost", last_get)),
                  "item-not-found");
  // Two sessions bound: online (0) until both closed.
  auto a1 = J("alice@localhost/one");
  auto a2 = J("alice@localhost/two");
  self->send(vh, hooks::session_bound{a1, caf::actor{}, "127.0.0.1"});
  self->send(vh, hooks::session_bound{a2, caf::actor{}, "127.0.0.1"});
  self->send(vh, hooks::session_closed{a1, "gone"});
  auto r = ask(alice, "alice@localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_EQUAL(seconds_of(*r), 0);
  self->send(vh, hooks::session_closed{a2, "gone"});
  std::this_thread::sleep_for(1100ms);
  r = ask(alice, "alice@localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_GREATER_OR_EQUAL(seconds_of(*r), 1);
  // Another user may not see it (no roster yet; visibility = "self").
  CAF_CHECK_EQUAL(condition(*ask(bob, "alice@localhost", last_get)),
                  "forbidden");
  // Kept in the file across a restart.
  restart();
  r = ask(alice, "alice@localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_GREATER_OR_EQUAL(seconds_of(*r), 1);
}

void checks::last_activity_carries_the_status_of_the_last_unavailable() {
  auto a1 = J("alice@localhost/one");
  self->send(vh, hooks::session_bound{a1, caf::actor{}, "127.0.0.1"});
  self->send(vh, hooks::session_closed{a1, "closed", "Gone fishing"});
  auto r = ask(alice, "alice@localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  auto q = r->child("query", "jabber:iq:last");
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->text(), "Gone fishing");
  // Kept in the file across a restart; a later logout without one
  // clears it.
  restart();
  r = ask(alice, "alice@localhost", last_get); // (r keeps q alive)
  q = r->child("query", "jabber:iq:last");
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->text(), "Gone fishing");
  self->send(vh, hooks::session_bound{a1, caf::actor{}, "127.0.0.1"});
  self->send(vh, hooks::session_closed{a1, "closed"});
  r = ask(alice, "alice@localhost", last_get);
  q = r->child("query", "jabber:iq:last");
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->text(), "");
}

void checks::last_activity_visible_to_the_vhost() {
  stop();
  last_options.insert_or_assign("visibility", "vhost");
  last_options.erase("file"); // in memory
  start();
  self->send(vh, hooks::session_bound{J("bob@localhost/r"), caf::actor{},
                                      "127.0.0.1"});
  self->send(vh, hooks::session_closed{J("bob@localhost/r"), "gone"});
  auto r = ask(alice, "bob@localhost", last_get);
  CAF_CHECK_EQUAL(r->attr_or("type"), "result");
  CAF_CHECK_GREATER_OR_EQUAL(seconds_of(*r), 0);
  // an account never seen, and no account at all
  CAF_CHECK_EQUAL(condition(*ask(bob, "alice@localhost", last_get)),
                  "item-not-found");
  CAF_CHECK_EQUAL(condition(*ask(bob, "nobody@localhost", last_get)),
                  "service-unavailable");
  // a user of another domain may not
  CAF_CHECK_EQUAL(condition(*ask("eve@elsewhere/x", "bob@localhost",
                                 last_get)),
                  "forbidden");
}


CAF_TEST_FIXTURE_SCOPE(sqlite_tests, sqlite_checks)

CAF_TEST(sqlite vcard set then get own and of another user) {
  vcard_set_then_get_own_and_of_another_user();
}

CAF_TEST(sqlite vcard set of another user is forbidden and changes nothing) {
  vcard_set_of_another_user_is_forbidden_and_changes_nothing();
}

CAF_TEST(sqlite vcard survives a restart and an empty set clears it) {
  vcard_survives_a_restart_and_an_empty_set_clears_it();
}

CAF_TEST(sqlite vcard over max_bytes is refused) {
  vcard_over_max_bytes_is_refused();
}

CAF_TEST(sqlite vcard plugin spawned alone from its type) {
  vcard_plugin_spawned_alone_from_its_type();
}

CAF_TEST(sqlite photo hash) {
  photo_hash();
}

CAF_TEST(sqlite avatar hash in available presence follows the vCard) {
  avatar_hash_in_available_presence_follows_the_vcard();
}

CAF_TEST(sqlite private set and get) {
  private_set_and_get();
}

CAF_TEST(sqlite private errors) {
  private_errors();
}

CAF_TEST(sqlite private quota per account) {
  private_quota();
}

CAF_TEST(sqlite last activity of the server) {
  last_activity_of_the_server();
}

CAF_TEST(sqlite last activity of a user) {
  last_activity_of_a_user();
}

CAF_TEST(sqlite last activity carries the status of the last unavailable) {
  last_activity_carries_the_status_of_the_last_unavailable();
}

CAF_TEST(sqlite last activity visible to the vhost) {
  last_activity_visible_to_the_vhost();
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(memory_tests, memory_checks)

CAF_TEST(memory vcard set then get own and of another user) {
  vcard_set_then_get_own_and_of_another_user();
}

CAF_TEST(memory vcard set of another user is forbidden and changes nothing) {
  vcard_set_of_another_user_is_forbidden_and_changes_nothing();
}

CAF_TEST(memory vcard survives a restart and an empty set clears it) {
  vcard_survives_a_restart_and_an_empty_set_clears_it();
}

CAF_TEST(memory vcard over max_bytes is refused) {
  vcard_over_max_bytes_is_refused();
}

CAF_TEST(memory vcard plugin spawned alone from its type) {
  vcard_plugin_spawned_alone_from_its_type();
}

CAF_TEST(memory avatar hash in available presence follows the vCard) {
  avatar_hash_in_available_presence_follows_the_vcard();
}

CAF_TEST(memory private set and get) {
  private_set_and_get();
}

CAF_TEST(memory private errors) {
  private_errors();
}

CAF_TEST(memory private quota per account) {
  private_quota();
}

CAF_TEST(memory last activity of the server) {
  last_activity_of_the_server();
}

CAF_TEST(memory last activity of a user) {
  last_activity_of_a_user();
}

CAF_TEST(memory last activity carries the status of the last unavailable) {
  last_activity_carries_the_status_of_the_last_unavailable();
}

CAF_TEST(memory last activity visible to the vhost) {
  last_activity_visible_to_the_vhost();
}

CAF_TEST_FIXTURE_SCOPE_END()
