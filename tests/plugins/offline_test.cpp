#define CAF_SUITE plugins.offline

// offline.sqlite and offline.memory (plugins/offline/): XEP-0160 offline
// storage through the `deliver`, `offline.fetch` and `offline.remove`
// hooks, with a fake vhost answering auth.user_exists. The same checks run
// against both stores (one feature actor, plugins/offline/serve.hpp); offline.sqlite
// is detached, so these tests use a real actor_system and a scoped_actor
// instead of the test coordinator.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/stored_xml.hpp"
#include "hooks/catalogue.hpp"
#include "server/registry.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using hooks::delivery_verdict;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

/// Parses one stanza written as XML text in a jabber:client stream.
xml::element_ptr X(const std::string& text) {
  auto e = xml::parse_stored(text);
  CAF_REQUIRE(e != nullptr);
  return e;
}

/// A message from bob to `to` with a body.
xml::element_ptr msg(const std::string& body, const char* type = nullptr,
                     const char* to = "alice@localhost") {
  std::string t = type != nullptr ? std::string{" type='"} + type + "'" : "";
  return X("<message from='bob@example.org/x' to='" + std::string{to} + "'"
           + t + "><body>" + body + "</body></message>");
}

/// The vhost as far as offline.sqlite sees it: auth.user_exists.
caf::behavior fake_vhost(caf::event_based_actor*, std::set<std::string> users) {
  return {
    [users](const hooks::auth_user_exists& r) -> caf::result<bool> {
      if (r.user.local() == "broken") // the auth store fails
        return caf::make_error(caf::sec::runtime_error, "auth failed");
      return users.count(r.user.bare_str()) > 0;
    },
  };
}

struct fixture {
  const char* type = "offline.sqlite";
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  toml::table options;
  plugins::manifest all;
  caf::actor vhost;
  std::vector<caf::actor> spawned;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/offline_test.XXXXXX";
    dir = mkdtemp(tmpl);
    vhost = sys.spawn(fake_vhost, std::set<std::string>{"alice@localhost",
                                                        "carol@localhost"});
  }

  ~fixture() {
    for (auto& a : spawned)
      stop(a);
    self->send_exit(vhost, caf::exit_reason::user_shutdown);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin() {
    plugins::spawn_context ctx{sys, "localhost", dir.string(), options, all,
                               vhost};
    auto t = plugins::find_type(type);
    CAF_REQUIRE(t != nullptr);
    auto a = t->spawn(ctx);
    spawned.push_back(a);
    return a;
  }

  void stop(const caf::actor& a) {
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }

  template <class Req>
  typename Req::answer_type ask(const caf::actor& a, Req req) {
    typename Req::answer_type res;
    self->request(a, 30s, std::move(req))
      .receive([&](typename Req::answer_type& x) { res = std::move(x); },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return res;
  }

  hooks::answer<delivery_verdict> deliver(const caf::actor& a,
                                          xml::element_ptr s,
                                          const char* to = "alice@localhost") {
    return ask(a, hooks::deliver{std::move(s), J(to)});
  }

  /// Delivered and taken.
  bool taken(const caf::actor& a, xml::element_ptr s,
             const char* to = "alice@localhost") {
    auto r = deliver(a, std::move(s), to);
    return !r.declined && r.value.taken;
  }

  /// The stored stanzas (nothing removed).
  std::vector<hooks::offline_message>
  peek(const caf::actor& a, const char* user = "alice@localhost") {
    auto r = ask(a, hooks::offline_fetch{J(user)});
    CAF_REQUIRE(!r.declined);
    return r.value;
  }

  /// What a session does: fetch, then remove what it got.
  std::vector<xml::element_ptr> fetch(const caf::actor& a,
                                      const char* user = "alice@localhost") {
    std::vector<xml::element_ptr> out;
    std::vector<int64_t> ids;
    for (auto& m : peek(a, user)) {
      out.push_back(m.stanza);
      ids.push_back(m.id);
    }
    if (!ids.empty()) {
      auto r = ask(a, hooks::offline_remove{J(user), ids});
      CAF_CHECK(!r.declined && r.value);
    }
    return out;
  }

  static std::string body(const xml::element_ptr& e) {
    auto b = e->child("body");
    return b != nullptr ? b->text() : "<none>";
  }
};

struct checks : fixture {
  /// store and fetch in order for an existing user
  void store_and_fetch_in_order() {
    auto a = plugin();
    CAF_CHECK(fetch(a).empty());
    CAF_CHECK(taken(a, msg("one")));
    CAF_CHECK(taken(a, msg("two", "chat")));
    CAF_CHECK(taken(a, msg("three", "normal"), "alice@localhost/phone"));
    CAF_CHECK(taken(a, msg("for carol"), "carol@localhost"));
    auto got = fetch(a);
    CAF_REQUIRE_EQUAL(got.size(), 3u);
    CAF_CHECK_EQUAL(body(got[0]), "one");
    CAF_CHECK_EQUAL(body(got[1]), "two");
    CAF_CHECK_EQUAL(body(got[2]), "three");
    CAF_CHECK_EQUAL(got[1]->attr_or("type"), "chat");
    CAF_CHECK_EQUAL(got[0]->attr_or("from"), "bob@example.org/x");
    CAF_CHECK_EQUAL(got[0]->ns, "jabber:client");
    CAF_CHECK(fetch(a).empty()); // fetched = removed
    auto carol = fetch(a, "carol@localhost");
    CAF_REQUIRE_EQUAL(carol.size(), 1u);
    CAF_CHECK_EQUAL(body(carol[0]), "for carol");
  }

  /// a stored message carries an XEP-0203 delay
  void delay_stamp() {
    auto a = plugin();
    CAF_CHECK(taken(a, msg("hi &amp; &lt;bye&gt;")));
    auto got = fetch(a);
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    CAF_CHECK_EQUAL(body(got[0]), "hi & <bye>");
    auto d = got[0]->child("delay", "urn:xmpp:delay");
    CAF_REQUIRE(d != nullptr);
    CAF_CHECK_EQUAL(d->attr_or("from"), "localhost");
    static const std::regex utc{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"};
    CAF_CHECK(std::regex_match(d->attr_or("stamp"), utc));
  }

  /// unknown users and other domains are declined
  void declined() {
    auto a = plugin();
    CAF_CHECK(deliver(a, msg("x"), "nobody@localhost").declined);
    CAF_CHECK(deliver(a, msg("x"), "alice@example.org").declined);
    CAF_CHECK(ask(a, hooks::offline_fetch{J("alice@example.org")}).declined);
    CAF_CHECK(fetch(a, "nobody@localhost").empty());
  }

  /// what is not stored
  void not_stored() {
    auto a = plugin();
    // Error, groupchat and headline messages (XEP-0160 §3).
    CAF_CHECK(deliver(a, msg("x", "error")).declined);
    CAF_CHECK(deliver(a, msg("x", "groupchat")).declined);
    CAF_CHECK(deliver(a, msg("x", "headline")).declined);
    // The XEP-0334 no-store hint.
    CAF_CHECK(deliver(a, X("<message to='alice@localhost'><body>x</body>"
                           "<no-store xmlns='urn:xmpp:hints'/></message>"))
                .declined);
    // A chat state alone (XEP-0085), or an empty message.
    CAF_CHECK(deliver(a, X("<message to='alice@localhost' type='chat'>"
                           "<composing xmlns='http://jabber.org/protocol/"
                           "chatstates'/><thread>t1</thread></message>"))
                .declined);
    CAF_CHECK(deliver(a, X("<message to='alice@localhost'/>")).declined);
    // Not a message.
    CAF_CHECK(deliver(a, X("<presence to='alice@localhost'/>")).declined);
    CAF_CHECK(deliver(a, X("<iq to='alice@localhost' type='get' id='1'>"
                           "<query xmlns='jabber:iq:version'/></iq>"))
                .declined);
    CAF_CHECK(fetch(a).empty());
    // But: a store hint, a payload without a body, a body with a chat state,
    // no-permanent-store (XEP-0334 §4.2 allows offline storage).
    CAF_CHECK(taken(a, X("<message to='alice@localhost'>"
                         "<store xmlns='urn:xmpp:hints'/></message>")));
    CAF_CHECK(taken(a, X("<message to='alice@localhost'>"
                         "<x xmlns='jabber:x:conference' jid='r@muc'/>"
                         "</message>")));
    CAF_CHECK(taken(a, X("<message to='alice@localhost' type='chat'>"
                         "<active xmlns='http://jabber.org/protocol/"
                         "chatstates'/><body>b</body></message>")));
    CAF_CHECK(taken(a, X("<message to='alice@localhost'><body>p</body>"
                         "<no-permanent-store xmlns='urn:xmpp:hints'/>"
                         "</message>")));
    CAF_CHECK_EQUAL(fetch(a).size(), 4u);
  }

  /// a full store bounces with service-unavailable
  void quota() {
    options.insert_or_assign("max_messages", 3);
    auto a = plugin();
    for (auto b : {"1", "2", "3"})
      CAF_CHECK(taken(a, msg(b)));
    auto r = deliver(a, msg("4"));
    CAF_CHECK(!r.declined);
    CAF_CHECK(!r.value.taken);
    CAF_CHECK_EQUAL(r.value.condition, "service-unavailable");
    CAF_CHECK(taken(a, msg("other"), "carol@localhost")); // per user
    auto got = fetch(a);
    CAF_REQUIRE_EQUAL(got.size(), 3u);
    CAF_CHECK_EQUAL(body(got[2]), "3");
    CAF_CHECK(taken(a, msg("5"))); // room again
  }

  /// an auth failure is an error never a taken
  void auth_failure() {
    auto a = plugin();
    bool failed = false;
    self->request(a, 30s, hooks::deliver{msg("x"), J("broken@localhost")})
      .receive([](hooks::answer<delivery_verdict>&) {},
               [&](caf::error&) { failed = true; });
    CAF_CHECK(failed);
    CAF_CHECK(taken(a, msg("still works")));
  }

  /// Two-phase: a fetch removes nothing; remove takes exactly the ids
  /// given (also ones stored after the fetch stay), in arrival order.
  void two_phase() {
    auto a = plugin();
    CAF_CHECK(taken(a, msg("one")));
    CAF_CHECK(taken(a, msg("two")));
    auto first = peek(a);
    CAF_REQUIRE_EQUAL(first.size(), 2u);
    CAF_CHECK(first[0].id < first[1].id);
    // The session died before writing them: the next login gets them.
    auto again = peek(a);
    CAF_REQUIRE_EQUAL(again.size(), 2u);
    CAF_CHECK_EQUAL(body(again[0].stanza), "one");
    CAF_CHECK_EQUAL(again[0].id, first[0].id);
    // A message stored between fetch and remove is not removed.
    CAF_CHECK(taken(a, msg("three")));
    auto r = ask(a, hooks::offline_remove{J("alice@localhost"),
                                          {again[0].id, again[1].id}});
    CAF_CHECK(!r.declined && r.value);
    auto left = peek(a);
    CAF_REQUIRE_EQUAL(left.size(), 1u);
    CAF_CHECK_EQUAL(body(left[0].stanza), "three");
    // Removing unknown or already removed ids is harmless.
    r = ask(a, hooks::offline_remove{J("alice@localhost"),
                                     {again[0].id, 987654}});
    CAF_CHECK(!r.declined && r.value);
    CAF_CHECK_EQUAL(peek(a).size(), 1u);
    // Another user's ids are not touched through alice.
    CAF_CHECK(taken(a, msg("for carol"), "carol@localhost"));
    auto carol = peek(a, "carol@localhost");
    CAF_REQUIRE_EQUAL(carol.size(), 1u);
    ask(a, hooks::offline_remove{J("alice@localhost"), {carol[0].id}});
    CAF_CHECK_EQUAL(peek(a, "carol@localhost").size(), 1u);
    // Other domains are declined.
    CAF_CHECK(ask(a, hooks::offline_remove{J("alice@example.org"), {1}})
                .declined);
  }
};

struct sqlite_fixture : checks {};

struct memory_fixture : checks {
  memory_fixture() {
    type = "offline.memory";
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(offline_sqlite, sqlite_fixture)

CAF_TEST(sqlite manifest) {
  auto t = plugins::find_type(type);
  CAF_REQUIRE(t != nullptr);
  auto m = t->describe(toml::table{});
  CAF_CHECK_EQUAL(m.features, std::vector<std::string>{"msgoffline"});
  CAF_CHECK(m.hooks
            == (std::vector<hooks::hook_id>{hooks::id<hooks::deliver>,
                                            hooks::id<hooks::offline_fetch>,
                                            hooks::id<hooks::offline_remove>}));
}

CAF_TEST(sqlite store and fetch in order for an existing user) {
  store_and_fetch_in_order();
}

CAF_TEST(sqlite a stored message carries an XEP-0203 delay) {
  delay_stamp();
}

CAF_TEST(sqlite unknown users and other domains are declined) {
  declined();
}

CAF_TEST(sqlite what is not stored) {
  not_stored();
}

CAF_TEST(sqlite a full store bounces with service-unavailable) {
  quota();
}

CAF_TEST(sqlite an auth failure is an error never a taken) {
  auth_failure();
}

CAF_TEST(sqlite fetch then remove is two-phase) {
  two_phase();
}

CAF_TEST(sqlite stored messages survive a restart) {
  auto a = plugin();
  CAF_CHECK(taken(a, msg("before restart 1")));
  CAF_CHECK(taken(a, msg("before restart 2")));
  stop(a);
  auto b = plugin();
  CAF_CHECK(taken(b, msg("after restart")));
  auto got = fetch(b);
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK_EQUAL(body(got[0]), "before restart 1");
  CAF_CHECK_EQUAL(body(got[1]), "before restart 2");
  CAF_CHECK_EQUAL(body(got[2]), "after restart");
  stop(b);
  auto c = plugin();
  CAF_CHECK(fetch(c).empty()); // the fetch's delete was committed too
}

CAF_TEST(sqlite fetched but not removed messages survive a restart) {
  auto a = plugin();
  CAF_CHECK(taken(a, msg("unconfirmed")));
  CAF_CHECK_EQUAL(peek(a).size(), 1u);
  stop(a);
  auto b = plugin();
  auto got = fetch(b);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(body(got[0]), "unconfirmed");
  stop(b);
  auto c = plugin();
  CAF_CHECK(peek(c).empty()); // the remove was committed
}

CAF_TEST(sqlite a storage failure is an error never a taken) {
  options.insert_or_assign("file", "no/such/dir/offline.sqlite");
  auto a = plugin();
  bool failed = false;
  self->request(a, 30s, hooks::deliver{msg("x"), J("alice@localhost")})
    .receive([](hooks::answer<delivery_verdict>&) {},
             [&](caf::error&) { failed = true; });
  CAF_CHECK(failed);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(offline_memory, memory_fixture)

CAF_TEST(memory manifest) {
  auto t = plugins::find_type(type);
  CAF_REQUIRE(t != nullptr);
  auto m = t->describe(toml::table{});
  CAF_CHECK_EQUAL(m.features, std::vector<std::string>{"msgoffline"});
  CAF_CHECK(m.hooks
            == (std::vector<hooks::hook_id>{hooks::id<hooks::deliver>,
                                            hooks::id<hooks::offline_fetch>,
                                            hooks::id<hooks::offline_remove>}));
}

CAF_TEST(memory store and fetch in order for an existing user) {
  store_and_fetch_in_order();
}

CAF_TEST(memory a stored message carries an XEP-0203 delay) {
  delay_stamp();
}

CAF_TEST(memory unknown users and other domains are declined) {
  declined();
}

CAF_TEST(memory what is not stored) {
  not_stored();
}

CAF_TEST(memory a full store bounces with service-unavailable) {
  quota();
}

CAF_TEST(memory an auth failure is an error never a taken) {
  auth_failure();
}

CAF_TEST(memory fetch then remove is two-phase) {
  two_phase();
}

CAF_TEST_FIXTURE_SCOPE_END()
