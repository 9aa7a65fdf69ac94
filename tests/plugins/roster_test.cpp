#define CAF_SUITE plugins.roster

// The roster stores (plugins/roster/): the roster.* hooks from one test
// body against roster.memory, roster.sqlite and roster.pgsql (the last
// only when DJA_TEST_PGSQL_DSN names a scratch database:
// tests/e2e/test_pgsql_store_units.py runs this binary so); persistence
// across a restart for both databases; roster.sqlite's migration from
// schema version 1 (no `listed`; roster.pgsql's is
// tests/e2e/test_pgsql_roster_migration.py). The stores may be detached,
// so these tests use a real actor_system and a scoped_actor instead of the
// test coordinator.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "common/quota.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/pgsql_scratch.hpp"
#include "server/registry.hpp"

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

  caf::actor plugin(const std::string& type) {
    toml::table opts = options;
    if (type == "roster.pgsql")
      opts.insert_or_assign("dsn", test::pgsql_dsn());
    plugins::spawn_context ctx{sys, "localhost", dir.string(), opts, all,
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

/// The checks shared by every backend.
void basics(fixture& f, const std::string& type) {
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
  CAF_CHECK(r.items[0].listed);
  // A second item, without groups: a request alone (not listed).
  auto req = item("carol@localhost", "", {});
  req.pending_in = true;
  req.listed = false;
  auto v3 = f.set(a, "alice@localhost", req);
  r = f.get(a, "alice@localhost");
  CAF_REQUIRE_EQUAL(r.items.size(), 2u);
  CAF_CHECK_EQUAL(r.items[0].contact.str(), "bob@example.org");
  CAF_CHECK_EQUAL(r.items[1].contact.str(), "carol@localhost");
  CAF_CHECK(r.items[1].groups.empty());
  CAF_CHECK(!r.items[1].listed && r.items[1].pending_in);
  l = f.value(a, hooks::roster_load_item{J("alice@localhost"),
                                         J("carol@localhost")});
  CAF_REQUIRE_EQUAL(l.size(), 1u);
  CAF_CHECK(!l[0].listed);
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

/// max_items: a new record beyond it is refused with quota_reached(), a
/// change of an existing one is not.
void bound(fixture& f, const std::string& type) {
  CAF_MESSAGE("backend " << type);
  f.options.insert_or_assign("max_items", 2);
  auto a = f.plugin(type);
  auto refused = [&](hooks::roster_item it) {
    caf::error err;
    f.self->request(a, 30s, hooks::roster_set_item{J("alice@localhost"), it})
      .receive([](hooks::answer<std::string>&) {},
               [&](caf::error& e) { err = std::move(e); });
    return is_quota_reached(err);
  };
  f.set(a, "alice@localhost", item("bob@localhost", "", {}));
  f.set(a, "alice@localhost", item("carol@localhost", "", {}));
  CAF_CHECK(refused(item("dave@localhost", "", {})));
  auto req = item("erin@localhost", "", {});
  req.pending_in = true;
  req.listed = false;
  CAF_CHECK(refused(req)); // a request alone is a record too
  CAF_CHECK(!refused(item("bob@localhost", "Bob", {"G"}, "to")));
  CAF_CHECK_EQUAL(f.get(a, "alice@localhost").items.size(), 2u);
  // Other users have their own bound.
  f.set(a, "dave@localhost", item("bob@localhost", "", {}));
  // Room again after a removal.
  f.value(a, hooks::roster_remove_item{J("alice@localhost"),
                                       J("carol@localhost")});
  CAF_CHECK(!refused(req));
  CAF_CHECK(refused(item("dave@localhost", "", {})));
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(roster_tests, fixture)

CAF_TEST(every backend bounds the roster size) {
  bound(*this, "roster.memory");
  bound(*this, "roster.sqlite");
  if (test::pgsql_dsn().empty())
    return;
  CAF_REQUIRE(test::pgsql_scratch(test::pgsql_dsn()));
  bound(*this, "roster.pgsql");
}

CAF_TEST(memory backend) {
  basics(*this, "roster.memory");
}

CAF_TEST(sqlite backend) {
  basics(*this, "roster.sqlite");
  CAF_CHECK(fs::exists(dir / "roster.sqlite"));
}

CAF_TEST(pgsql backend) {
  if (test::pgsql_dsn().empty()) {
    CAF_MESSAGE("no DJA_TEST_PGSQL_DSN: roster.pgsql not tested here");
    return;
  }
  CAF_REQUIRE(test::pgsql_scratch(test::pgsql_dsn()));
  basics(*this, "roster.pgsql");
}

/// A store of `type` keeps everything across a restart of its plugin.
void restart(fixture& f, const std::string& type) {
  CAF_MESSAGE("backend " << type);
  auto a = f.plugin(type);
  auto it = item("bob@example.org", "Bob", {"Friends"}, "from");
  it.pending_in = true;
  f.set(a, "alice@localhost", it);
  auto v = f.set(a, "alice@localhost",
                 item("carol@localhost", "C", {"A", "B"}));
  f.set(a, "dave@localhost", item("alice@localhost", "", {}));
  auto before = f.get(a, "alice@localhost");
  f.stop(a);
  auto b = f.plugin(type);
  auto after = f.get(b, "alice@localhost");
  CAF_CHECK_EQUAL(after.version, v);
  CAF_REQUIRE_EQUAL(after.items.size(), 2u);
  CAF_CHECK_EQUAL(after.items[0].contact.str(), "bob@example.org");
  CAF_CHECK_EQUAL(after.items[0].name, "Bob");
  CAF_CHECK_EQUAL(after.items[0].groups, std::vector<std::string>{"Friends"});
  CAF_CHECK_EQUAL(after.items[0].subscription, "from");
  CAF_CHECK(after.items[0].pending_in);
  CAF_CHECK_EQUAL(after.items[1].groups,
                  (std::vector<std::string>{"A", "B"}));
  CAF_CHECK_EQUAL(f.get(b, "dave@localhost").items.size(), 1u);
  // The version goes on from where it was.
  auto v2 = f.set(b, "alice@localhost", item("erin@localhost", "", {}));
  CAF_CHECK_LESS(std::stoll(v), std::stoll(v2));
  // A wipe survives a restart too.
  CAF_CHECK(f.value(b, hooks::roster_wipe{J("alice@localhost")}));
  f.stop(b);
  auto c = f.plugin(type);
  CAF_CHECK(f.get(c, "alice@localhost").items.empty());
  CAF_CHECK_EQUAL(f.get(c, "dave@localhost").items.size(), 1u);
}

CAF_TEST(sqlite keeps everything across a restart) {
  restart(*this, "roster.sqlite");
}

CAF_TEST(pgsql keeps everything across a restart) {
  if (test::pgsql_dsn().empty())
    return;
  CAF_REQUIRE(test::pgsql_scratch(test::pgsql_dsn()));
  restart(*this, "roster.pgsql");
}

CAF_TEST(sqlite migrates version 1: listed by the old rule) {
  // A file as roster.sqlite wrote it before `listed`: a request alone
  // (None + Pending In, no name, no groups) and items that were shown.
  sqlite3* db = nullptr;
  CAF_REQUIRE_EQUAL(sqlite3_open((dir / "roster.sqlite").c_str(), &db),
                    SQLITE_OK);
  auto rc = sqlite3_exec(db, R"(
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version VALUES (1);
    CREATE TABLE roster_items (domain TEXT NOT NULL, user TEXT NOT NULL,
      contact TEXT NOT NULL, name TEXT NOT NULL, subscription TEXT NOT NULL,
      ask_out INTEGER NOT NULL, pending_in INTEGER NOT NULL,
      approved INTEGER NOT NULL, PRIMARY KEY (domain, user, contact))
      WITHOUT ROWID;
    CREATE TABLE roster_groups (domain TEXT NOT NULL, user TEXT NOT NULL,
      contact TEXT NOT NULL, grp TEXT NOT NULL,
      PRIMARY KEY (domain, user, contact, grp)) WITHOUT ROWID;
    CREATE TABLE roster_versions (domain TEXT NOT NULL, user TEXT NOT NULL,
      version INTEGER NOT NULL, PRIMARY KEY (domain, user)) WITHOUT ROWID;
    INSERT INTO roster_items VALUES
      ('localhost', 'alice', 'req@localhost', '', 'none', 0, 1, 0),
      ('localhost', 'alice', 'named@localhost', 'N', 'none', 0, 1, 0),
      ('localhost', 'alice', 'grouped@localhost', '', 'none', 0, 1, 0),
      ('localhost', 'alice', 'plain@localhost', '', 'none', 0, 0, 0),
      ('localhost', 'alice', 'to@localhost', '', 'to', 0, 1, 0),
      ('localhost', 'alice', 'ask@localhost', '', 'none', 1, 1, 0),
      ('localhost', 'bob', 'req@localhost', '', 'none', 0, 1, 0);
    INSERT INTO roster_groups VALUES
      ('localhost', 'alice', 'grouped@localhost', 'G');
    INSERT INTO roster_versions VALUES ('localhost', 'alice', 7);
  )",
                         nullptr, nullptr, nullptr);
  CAF_REQUIRE_EQUAL(rc, SQLITE_OK);
  sqlite3_close(db);
  auto a = plugin("roster.sqlite");
  auto r = get(a, "alice@localhost");
  CAF_CHECK_EQUAL(r.version, "7");
  std::map<std::string, bool> listed;
  for (auto& it : r.items)
    listed[it.contact.str()] = it.listed;
  CAF_CHECK_EQUAL(listed.size(), 6u);
  CAF_CHECK(!listed["req@localhost"]);
  CAF_CHECK(listed["named@localhost"]);
  CAF_CHECK(listed["grouped@localhost"]);
  CAF_CHECK(listed["plain@localhost"]);
  CAF_CHECK(listed["to@localhost"]);
  CAF_CHECK(listed["ask@localhost"]);
  auto b = get(a, "bob@localhost");
  CAF_REQUIRE_EQUAL(b.items.size(), 1u);
  CAF_CHECK(!b.items[0].listed);
  // A None + Pending In item that is listed keeps the flag (the case the
  // old rule could not tell from a request).
  auto kept = item("req@localhost", "", {});
  kept.pending_in = true;
  set(a, "alice@localhost", kept);
  stop(a);
  auto c = plugin("roster.sqlite");
  auto l = value(c, hooks::roster_load_item{J("alice@localhost"),
                                            J("req@localhost")});
  CAF_REQUIRE_EQUAL(l.size(), 1u);
  CAF_CHECK(l[0].listed && l[0].pending_in);
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
