#define CAF_SUITE plugins.blocking

// blocking.memory and blocking.sqlite (plugins/blocking/): the blocking.*
// hooks and `deliver` against both backends, and blocking.sqlite's
// persistence across a restart. blocking.sqlite is detached, so these
// tests use a real actor_system and a scoped_actor.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "server/registry.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

xml::element_ptr message_from(const char* from) {
  auto m = std::make_shared<xml::element>("message", "jabber:client");
  m->set_attr("from", from).set_attr("type", "chat");
  m->add_child(xml::element{"body", "jabber:client"}).add_text("hi");
  return m;
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
    char tmpl[] = "/tmp/blocking_test.XXXXXX";
    dir = mkdtemp(tmpl);
  }

  ~fixture() {
    for (auto& a : spawned)
      stop(a);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin(const char* type) {
    plugins::spawn_context ctx{sys, "localhost", dir.string(), options, all,
                               caf::actor{}};
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

  template <class Req>
  auto value(const caf::actor& a, Req req) {
    auto r = ask(a, std::move(req));
    CAF_REQUIRE(!r.declined);
    return r.value;
  }

  strings list(const caf::actor& a, const char* user) {
    return value(a, hooks::blocking_list{J(user)});
  }
};

void basics(fixture& f, const char* type) {
  CAF_MESSAGE("backend " << type);
  auto a = f.plugin(type);
  CAF_CHECK(f.list(a, "alice@localhost").empty());
  strings items{"bob@localhost", "example.org", "carol@localhost/x"};
  CAF_CHECK(f.value(a, hooks::blocking_block{J("alice@localhost"), items}));
  // Blocking again is no error and adds nothing twice.
  CAF_CHECK(f.value(a, hooks::blocking_block{J("alice@localhost"),
                                             {"bob@localhost"}}));
  CAF_CHECK_EQUAL(f.list(a, "alice@localhost"),
                  (strings{"bob@localhost", "carol@localhost/x",
                           "example.org"}));
  CAF_CHECK(f.list(a, "carol@localhost").empty()); // per user
  // check: the XEP-0191 §6 matching rules; never the own account.
  auto check = [&](const char* user, const char* who) {
    return f.value(a, hooks::blocking_check{J(user), J(who)});
  };
  CAF_CHECK(check("alice@localhost", "bob@localhost/phone"));
  CAF_CHECK(check("alice@localhost", "x@muc.example.org"));
  CAF_CHECK(check("alice@localhost", "carol@localhost/x"));
  CAF_CHECK(!check("alice@localhost", "carol@localhost/y"));
  CAF_CHECK(!check("bob@localhost", "alice@localhost"));
  // deliver: a message from a blocked JID is taken (dropped); others and
  // other domains are declined (offline storage gets them).
  auto d = f.ask(a, hooks::deliver{message_from("bob@localhost/phone"),
                                   J("alice@localhost")});
  CAF_CHECK(!d.declined && d.value.taken);
  CAF_CHECK(f.ask(a, hooks::deliver{message_from("dave@localhost/phone"),
                                    J("alice@localhost")})
              .declined);
  CAF_CHECK(f.ask(a, hooks::deliver{message_from("bob@localhost/phone"),
                                    J("alice@other.org")})
              .declined);
  // unblock: the removed items; unknown ones are not reported.
  auto removed = f.value(a, hooks::blocking_unblock{
                              J("alice@localhost"),
                              {"carol@localhost/x", "nobody@localhost"}});
  CAF_CHECK_EQUAL(removed, (strings{"carol@localhost/x"}));
  // unblock all: everything that was there.
  removed = f.value(a, hooks::blocking_unblock{J("alice@localhost"), {}});
  CAF_CHECK_EQUAL(removed, (strings{"bob@localhost", "example.org"}));
  CAF_CHECK(f.list(a, "alice@localhost").empty());
  CAF_CHECK(f.value(a, hooks::blocking_unblock{J("alice@localhost"), {}})
              .empty());
  // Other domains are declined.
  CAF_CHECK(f.ask(a, hooks::blocking_list{J("alice@other.org")}).declined);
  CAF_CHECK(f.ask(a, hooks::blocking_block{J("alice@other.org"),
                                           {"bob@localhost"}})
              .declined);
  CAF_CHECK(f.ask(a, hooks::blocking_check{J("alice@other.org"),
                                           J("bob@localhost")})
              .declined);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(blocking_tests, fixture)

CAF_TEST(memory backend) {
  basics(*this, "blocking.memory");
}

CAF_TEST(sqlite backend) {
  basics(*this, "blocking.sqlite");
}

CAF_TEST(sqlite survives a restart) {
  auto a = plugin("blocking.sqlite");
  CAF_CHECK(value(a, hooks::blocking_block{J("alice@localhost"),
                                           {"bob@localhost"}}));
  stop(a);
  spawned.clear();
  auto b = plugin("blocking.sqlite");
  CAF_CHECK_EQUAL(list(b, "alice@localhost"), (strings{"bob@localhost"}));
  // The file is private to the server's user.
  auto perms = fs::status(dir / "blocking.sqlite").permissions();
  CAF_CHECK((perms & (fs::perms::group_all | fs::perms::others_all))
            == fs::perms::none);
}

CAF_TEST(manifest) {
  auto t = plugins::find_type("blocking.sqlite");
  CAF_REQUIRE(t != nullptr);
  auto m = t->describe(options);
  CAF_CHECK_EQUAL(m.features, (strings{"urn:xmpp:blocking"}));
  CAF_CHECK(std::find(m.hooks.begin(), m.hooks.end(),
                      hooks::id<hooks::deliver>)
            != m.hooks.end());
}

CAF_TEST_FIXTURE_SCOPE_END()
