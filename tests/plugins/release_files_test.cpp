#define CAF_SUITE plugins.release_files

// Data files stay readable: the accounts and roster databases in
// tests/data/auth-roster/ were written by an earlier release (its README
// lists what they hold). Copies of them are opened with today's
// auth.sqlite and roster.sqlite, and every account and item must read back
// as it was written; the files then take new writes.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "server/registry.hpp"

using namespace dja;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

/// tests/data/auth-roster. __FILE__ is relative to the test's build
/// directory when ccache's base_dir rewrote the path: then it is taken
/// from where the binary is, so the test runs from any directory.
fs::path data_dir() {
  auto rel = fs::path{__FILE__}.parent_path().parent_path() / "data"
             / "auth-roster";
  if (rel.is_absolute())
    return rel;
  return fs::read_symlink("/proc/self/exe").parent_path() / rel;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  plugins::manifest all;
  std::vector<caf::actor> spawned;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/release_files_test.XXXXXX";
    dir = mkdtemp(tmpl);
    for (auto name : {"accounts.sqlite", "roster.sqlite"}) {
      fs::copy_file(data_dir() / name, dir / name);
      fs::permissions(dir / name,
                      fs::perms::owner_read | fs::perms::owner_write);
    }
  }

  ~fixture() {
    for (auto& a : spawned) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {});
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin(const char* type, const char* domain = "localhost") {
    toml::table options;
    options.insert("file", type == std::string{"auth.sqlite"}
                             ? "accounts.sqlite"
                             : "roster.sqlite");
    plugins::spawn_context ctx{sys, domain, dir.string(), options, all,
                               caf::actor{}};
    auto t = plugins::find_type(type);
    CAF_REQUIRE(t != nullptr);
    auto a = t->spawn(ctx);
    spawned.push_back(a);
    return a;
  }

  template <class Req>
  typename Req::answer_type ask(const caf::actor& a, Req req) {
    typename Req::answer_type res;
    self->request(a, 30s, std::move(req))
      .receive([&](typename Req::answer_type& x) { res = std::move(x); },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return res;
  }

  bool login(const caf::actor& a, const char* user, const char* pw) {
    auto r = ask(a, hooks::auth_check_password{J(user), pw, ""});
    return !r.declined && r.value;
  }
};

/// The stored credentials of `user` are those of `pw` for `hash`.
void check_scram(fixture& f, const caf::actor& a, const char* user,
                 const char* pw, uint32_t iterations) {
  for (auto [name, h] : {std::pair{"SHA-1", crypto::hash_fn::sha1},
                         std::pair{"SHA-256", crypto::hash_fn::sha256}}) {
    auto r = f.ask(a, hooks::auth_get_scram{J(user), name});
    CAF_REQUIRE(!r.declined && r.value.found);
    CAF_CHECK_EQUAL(r.value.iterations, iterations);
    CAF_CHECK_EQUAL(r.value.salt.size(), 16u);
    auto mine = scram::derive(h, pw, r.value.salt, r.value.iterations);
    CAF_CHECK(mine.stored_key == r.value.stored_key);
    CAF_CHECK(mine.server_key == r.value.server_key);
  }
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(release_files_tests, fixture)

CAF_TEST(accounts written by the earlier release) {
  auto a = plugin("auth.sqlite");
  CAF_CHECK(login(a, "alice@localhost", "alice fixture pw"));
  CAF_CHECK(!login(a, "alice@localhost", "alice fixture pw "));
  CAF_CHECK(login(a, "bob@localhost", "bob new pw"));
  CAF_CHECK(!login(a, "bob@localhost", "bob old pw"));
  check_scram(*this, a, "alice@localhost", "alice fixture pw", 4096);
  check_scram(*this, a, "bob@localhost", "bob new pw", 4096);
  CAF_CHECK(ask(a, hooks::auth_user_exists{J("carol@localhost")}).declined);
  CAF_CHECK(ask(a, hooks::auth_user_exists{J("dave@localhost")}).declined);
  CAF_CHECK_EQUAL(ask(a, hooks::auth_list_users{}).value,
                  (strings{"alice", "bob"}));
  // The other vhost's account in the same file.
  auto b = plugin("auth.sqlite", "example.net");
  CAF_CHECK(login(b, "dave@example.net", "dave pw"));
  check_scram(*this, b, "dave@example.net", "dave pw", 5000);
  CAF_CHECK_EQUAL(ask(b, hooks::auth_list_users{}).value, strings{"dave"});
  // The file takes new writes.
  CAF_CHECK(ask(a, hooks::auth_register{J("erin@localhost"), "erin pw"}).value
            == hooks::account_result::done);
  CAF_CHECK(login(a, "erin@localhost", "erin pw"));
}

CAF_TEST(rosters written by the earlier release) {
  auto a = plugin("roster.sqlite");
  auto r = ask(a, hooks::roster_get{J("alice@localhost")});
  CAF_REQUIRE(!r.declined);
  CAF_CHECK_EQUAL(r.value.version, "10");
  std::map<std::string, hooks::roster_item> items;
  for (auto& it : r.value.items)
    items[it.contact.str()] = it;
  CAF_REQUIRE_EQUAL(items.size(), 8u);
  // contact -> name, groups, subscription, ask_out, pending_in, approved,
  // listed
  struct want {
    const char* contact;
    std::string name;
    strings groups;
    const char* subscription;
    bool ask_out, pending_in, approved, listed;
  };
  std::vector<want> wants{
    {"bob@localhost", "Bob", {"Friends"}, "both", false, false, false, true},
    {"carol@example.org", "Carol", {"Friends", "Work"}, "to", false, false,
     false, true},
    {"dave@localhost", "", {}, "from", true, false, false, true},
    {"erin@localhost", "\xc3\x89rin \xe2\x98\x83", {"\xc3\x9cn\xc3\xaf"},
     "none", true, false, false, true},
    {"frank@localhost", "", {}, "none", false, true, false, false},
    {"gina@localhost", "Gina", {}, "none", false, true, false, true},
    {"hank@localhost", "", {}, "none", false, false, true, true},
    {"ivan@localhost", "", {}, "to", false, true, false, true},
  };
  for (auto& w : wants) {
    CAF_MESSAGE("item " << w.contact);
    auto i = items.find(w.contact);
    CAF_REQUIRE(i != items.end());
    auto& it = i->second;
    CAF_CHECK_EQUAL(it.name, w.name);
    CAF_CHECK_EQUAL(it.groups, w.groups);
    CAF_CHECK_EQUAL(it.subscription, w.subscription);
    CAF_CHECK_EQUAL(it.ask_out, w.ask_out);
    CAF_CHECK_EQUAL(it.pending_in, w.pending_in);
    CAF_CHECK_EQUAL(it.approved, w.approved);
    CAF_CHECK_EQUAL(it.listed, w.listed);
  }
  CAF_CHECK(items.count("gone@localhost") == 0);
  auto l = ask(a, hooks::roster_load_item{J("alice@localhost"),
                                          J("frank@localhost")});
  CAF_REQUIRE_EQUAL(l.value.size(), 1u);
  CAF_CHECK(!l.value[0].listed && l.value[0].pending_in);
  auto bob = ask(a, hooks::roster_get{J("bob@localhost")}).value;
  CAF_CHECK_EQUAL(bob.version, "1");
  CAF_REQUIRE_EQUAL(bob.items.size(), 1u);
  CAF_CHECK_EQUAL(bob.items[0].name, "Alice");
  CAF_CHECK_EQUAL(bob.items[0].subscription, "both");
  auto zed = ask(a, hooks::roster_get{J("zed@localhost")}).value;
  CAF_CHECK(zed.items.empty());
  CAF_CHECK_EQUAL(zed.version, "2");
  // The versions go on from where they were.
  hooks::roster_item it;
  it.contact = J("new@localhost");
  auto v = ask(a, hooks::roster_set_item{J("alice@localhost"), it}).value;
  CAF_CHECK_EQUAL(v, "11");
}

CAF_TEST_FIXTURE_SCOPE_END()
