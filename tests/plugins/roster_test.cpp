#define CAF_SUITE plugins.roster

// roster.memory and roster.sqlite (plugins/roster/): the roster.* hooks
// against both backends, and roster.sqlite's persistence across a restart.
// roster.sqlite is detached, so these tests use a real actor_system and a
// scoped_actor instead of the test coordinator.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/plugin.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

hooks::roster_item item(const char* contact, std::string name,
                        std::vector<std::string> groups,
                        std::string subscription = "none") {
  hooks::roster_item it;
  it.contact = J(contact);
  it.name = std::move(name);
  it.groups = std::move(groups);
  it.subscription = std::move(subscription);
  return it;
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
    char tmpl[] = "/tmp/roster_test.XXXXXX";
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

  /// A handled answer's value.
  template <class Req>
  auto value(const caf::actor& a, Req req) {
    auto r = ask(a, std::move(req));
    CAF_REQUIRE(!r.declined);
    return r.value;
  }

  hooks::roster get(const caf::actor& a, const char* user) {
    return value(a, hooks::roster_get{J(user)});
  }

  std::string set(const caf::actor& a, const char* user,
                  hooks::roster_item it) {
    return value(a, hooks::roster_set_item{J(user), std::move(it)});
  }
};

/// The checks shared by both backends.
void basics(fixture& f, const char* type) {
  CAF_MESSAGE("backend " << type);
  auto a = f.plugin(type);
  // Empty roster.
  auto r = f.get(a, "alice@localhost");
  CAF_CHECK(r.items.empty());
  auto v0 = r.version;
  CAF_CHECK(!v0.empty());
  // Set an item: the version changes.
  auto v1 = f.set(a, "alice@localhost",
                  item("bob@example.org", "Bob", {"Friends", "Work"}, "to"));
  CAF_CHECK_NOT_EQUAL(v1, v0);
  r = f.get(a, "alice@localhost");
  CAF_CHECK_EQUAL(r.version, v1);
  CAF_REQUIRE_EQUAL(r.items.size(), 1u);
  CAF_CHECK_EQUAL(r.items[0].contact.str(), "bob@example.org");
  CAF_CHECK_EQUAL(r.items[0].name, "Bob");
  CAF_CHECK_EQUAL(r.items[0].groups,
                  (std::vector<std::string>{"Friends", "Work"}));
  CAF_CHECK_EQUAL(r.items[0].subscription, "to");
  CAF_CHECK(!r.items[0].ask_out && !r.items[0].pending_in
            && !r.items[0].approved);
  // load_item: present, absent; the contact's resource is ignored.
  auto l = f.value(a, hooks::roster_load_item{J("alice@localhost"),
                                              J("Bob@Example.org/home")});
  CAF_REQUIRE_EQUAL(l.size(), 1u);
  CAF_CHECK_EQUAL(l[0].name, "Bob");
  CAF_CHECK_EQUAL(l[0].groups, (std::vector<std::string>{"Friends", "Work"}));
  l = f.value(a, hooks::roster_load_item{J("alice@localhost"),
                                         J("carol@localhost")});
  CAF_CHECK(l.empty());
  // Other users see nothing of it.
  CAF_CHECK(f.get(a, "carol@localhost").items.empty());
  // Update name, groups and state flags.
  auto upd = item("bob@example.org", "Bobby", {"Work", "Zoo", "Work"}, "both");
  upd.ask_out = true;
  upd.pending_in = true;
  upd.approved = true;
  auto v2 = f.set(a, "alice@localhost", upd);
  CAF_CHECK_NOT_EQUAL(v2, v1);
  r = f.get(a, "alice@localhost");
  CAF_REQUIRE_EQUAL(r.items.size(), 1u);
  CAF_CHECK_EQUAL(r.items[0].name, "Bobby");
  CAF_CHECK_EQUAL(r.items[0].groups,
                  (std::vector<std::string>{"Work", "Zoo"}));
  CAF_CHECK_EQUAL(r.items[0].subscription, "both");
  CAF_CHECK(r.items[0].ask_out && r.items[0].pending_in
            && r.items[0].approved);
  // A second item, without groups.
  auto v3 = f.set(a, "alice@localhost", item("carol@localhost", "", {}));
  r = f.get(a, "alice@localhost");
  CAF_REQUIRE_EQUAL(r.items.size(), 2u);
  CAF_CHECK_EQUAL(r.items[0].contact.str(), "bob@example.org");
  CAF_CHECK_EQUAL(r.items[1].contact.str(), "carol@localhost");
  CAF_CHECK(r.items[1].groups.empty());
  // Remove.
  auto v4 = f.value(a, hooks::roster_remove_item{J("alice@localhost"),
                                                 J("bob@example.org")});
  CAF_CHECK_NOT_EQUAL(v4, v3);
  r = f.get(a, "alice@localhost");
  CAF_REQUIRE_EQUAL(r.items.size(), 1u);
  CAF_CHECK_EQUAL(r.items[0].contact.str(), "carol@localhost");
  CAF_CHECK_EQUAL(r.version, v4);
  CAF_CHECK(f.value(a, hooks::roster_load_item{J("alice@localhost"),
                                               J("bob@example.org")})
              .empty());
  // Removing what is not there changes nothing.
  auto v5 = f.value(a, hooks::roster_remove_item{J("alice@localhost"),
                                                 J("nobody@localhost")});
  CAF_CHECK_EQUAL(v5, v4);
  // Versions only grow (numerically).
  std::vector<std::string> vs{v0, v1, v2, v3, v4};
  for (size_t i = 1; i < vs.size(); ++i)
    CAF_CHECK_LESS(std::stoll(vs[i - 1]), std::stoll(vs[i]));
  // Wipe: empty, and a version never seen before.
  CAF_CHECK(f.value(a, hooks::roster_wipe{J("alice@localhost")}));
  r = f.get(a, "alice@localhost");
  CAF_CHECK(r.items.empty());
  CAF_CHECK_LESS(std::stoll(v4), std::stoll(r.version));
  // Other domains are declined.
  CAF_CHECK(f.ask(a, hooks::roster_get{J("alice@example.org")}).declined);
  CAF_CHECK(f.ask(a, hooks::roster_set_item{J("alice@example.org"),
                                            item("bob@localhost", "", {})})
              .declined);
  CAF_CHECK(f.ask(a, hooks::roster_wipe{J("alice@example.org")}).declined);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(roster_tests, fixture)

CAF_TEST(memory backend) {
  basics(*this, "roster.memory");
}

CAF_TEST(sqlite backend) {
  basics(*this, "roster.sqlite");
  CAF_CHECK(fs::exists(dir / "roster.sqlite"));
}

CAF_TEST(sqlite keeps everything across a restart) {
  auto a = plugin("roster.sqlite");
  auto it = item("bob@example.org", "Bob", {"Friends"}, "from");
  it.pending_in = true;
  set(a, "alice@localhost", it);
  auto v = set(a, "alice@localhost", item("carol@localhost", "C", {"A", "B"}));
  set(a, "dave@localhost", item("alice@localhost", "", {}));
  auto before = get(a, "alice@localhost");
  stop(a);
  auto b = plugin("roster.sqlite");
  auto after = get(b, "alice@localhost");
  CAF_CHECK_EQUAL(after.version, v);
  CAF_REQUIRE_EQUAL(after.items.size(), 2u);
  CAF_CHECK_EQUAL(after.items[0].contact.str(), "bob@example.org");
  CAF_CHECK_EQUAL(after.items[0].name, "Bob");
  CAF_CHECK_EQUAL(after.items[0].groups, std::vector<std::string>{"Friends"});
  CAF_CHECK_EQUAL(after.items[0].subscription, "from");
  CAF_CHECK(after.items[0].pending_in);
  CAF_CHECK_EQUAL(after.items[1].groups,
                  (std::vector<std::string>{"A", "B"}));
  CAF_CHECK_EQUAL(get(b, "dave@localhost").items.size(), 1u);
  // The version goes on from where it was.
  auto v2 = set(b, "alice@localhost", item("erin@localhost", "", {}));
  CAF_CHECK_LESS(std::stoll(v), std::stoll(v2));
  // A wipe survives a restart too.
  CAF_CHECK(value(b, hooks::roster_wipe{J("alice@localhost")}));
  stop(b);
  auto c = plugin("roster.sqlite");
  CAF_CHECK(get(c, "alice@localhost").items.empty());
  CAF_CHECK_EQUAL(get(c, "dave@localhost").items.size(), 1u);
}

CAF_TEST(sqlite file option and storage failures) {
  options.insert_or_assign("file", "no/such/dir/roster.sqlite");
  auto a = plugin("roster.sqlite");
  bool failed = false;
  self->request(a, 30s, hooks::roster_get{J("alice@localhost")})
    .receive([](hooks::answer<hooks::roster>&) {},
             [&](caf::error&) { failed = true; });
  CAF_CHECK(failed); // an error, never an empty roster
}

CAF_TEST_FIXTURE_SCOPE_END()
