// The plugin loader and the library boundary (server/plugin_loader.hpp,
// docs/plugins.md "ABI rules"): the example plugin library, built with
// default and with hidden visibility, is loaded and every hook kind
// round-trips through it (first with a decline, fold, notify, an IQ
// namespace); a library with another build identity, one without an
// entry point and one whose init throws are refused with a message that
// names the file and what is wrong.

#define CAF_SUITE sdk.loader
#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/identity.hpp"
#include "server/plugin_loader.hpp"
#include "server/registry.hpp"

using namespace dja;

namespace {

std::string lib(const char* name) {
  return std::string{DJA_SDK_PLUGIN_DIR} + "/" + name;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  plugins::manifest all;

  /// Spawns the loaded type `name` with users = { alice = "secret" }.
  caf::actor spawn(const std::string& name) {
    auto type = plugins::find_type(name);
    CAF_REQUIRE(type != nullptr);
    toml::table options{{"users", toml::table{{"alice", "secret"}}},
                        {"drop_word", "spam"}};
    auto m = type->describe(options);
    CAF_CHECK_EQUAL(m.hooks.size(), 3u);
    plugins::spawn_context ctx{sys, "localhost", "/tmp", options, all, {}};
    return type->spawn(ctx);
  }

  /// The answer of `plugin` to `req`, within 5 s.
  template <class Hook>
  typename Hook::answer_type ask(const caf::actor& plugin, Hook req) {
    typename Hook::answer_type res;
    bool got = false;
    self->request(plugin, std::chrono::seconds{5}, std::move(req))
      .receive(
        [&](typename Hook::answer_type& x) {
          res = std::move(x);
          got = true;
        },
        [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    CAF_CHECK(got);
    return res;
  }

  static xml::element_ptr message(const std::string& body) {
    auto m = std::make_shared<xml::element>("message", "jabber:client");
    m->add_child(xml::element{"body", "jabber:client"}).add_text(body);
    return m;
  }

  /// Every hook kind through the library's actor.
  void round_trip(const std::string& type) {
    auto plugin = spawn(type);
    auto alice = *jid::make("alice", "localhost");
    auto bob = *jid::make("bob", "localhost");
    // first: handled for alice, declined for bob.
    auto a = ask(plugin, hooks::auth_check_password{alice, "secret", ""});
    CAF_CHECK(!a.declined && a.value);
    a = ask(plugin, hooks::auth_check_password{alice, "wrong", ""});
    CAF_CHECK(!a.declined && !a.value);
    a = ask(plugin, hooks::auth_check_password{bob, "secret", ""});
    CAF_CHECK(a.declined);
    // fold: altered, passed unchanged (declined), dropped.
    auto v = ask(plugin, hooks::filter_stanza{message("hello bob"), alice});
    CAF_REQUIRE(!v.declined && v.value.stanza != nullptr);
    CAF_CHECK(v.value.stanza->child("greeted", "urn:example:hello"));
    v = ask(plugin, hooks::filter_stanza{message("bye"), alice});
    CAF_CHECK(v.declined);
    v = ask(plugin, hooks::filter_stanza{message("spam"), alice});
    CAF_CHECK(!v.declined && v.value.stanza == nullptr);
    // notify: two sends, no answer; seen by the next request (same
    // sender, so in order).
    for (int i = 0; i < 2; ++i)
      self->send(plugin,
                 hooks::session_bound{alice.with_resource("r"), nullptr, ""});
    // The IQ namespace.
    auto iq = std::make_shared<xml::element>("iq", "jabber:client");
    iq->set_attr("type", "get").set_attr("id", "h1");
    iq->add_child(xml::element{"hello", "urn:example:hello"});
    auto r = ask(plugin, hooks::iq_request{iq, alice, *jid::make("",
                                                                  "localhost")});
    CAF_REQUIRE(!r.declined && r.value != nullptr);
    auto q = r.value->child("hello", "urn:example:hello");
    CAF_REQUIRE(q != nullptr);
    CAF_CHECK_EQUAL(q->child("greeting")->text(), "Hello, alice@localhost!");
    CAF_CHECK_EQUAL(q->child("bound")->text(), "2");
    anon_send_exit(plugin, caf::exit_reason::user_shutdown);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(loader_tests, fixture)

CAF_TEST(every hook kind round - trips through a library) {
  CAF_CHECK_EQUAL(plugins::load_library(lib("sdk_hello.so")), "");
  round_trip("sdk.hello");
  // Loaded once: the second load is the first one's result.
  CAF_CHECK_EQUAL(plugins::load_library(lib("sdk_hello.so")), "");
}

CAF_TEST(hidden visibility crosses the boundary too) {
  CAF_CHECK_EQUAL(plugins::load_library(lib("sdk_hello_hidden.so")), "");
  round_trip("sdk.hello_hidden");
}

CAF_TEST(another build identity is refused naming both values) {
  auto err = plugins::load_library(lib("sdk_hello_other.so"));
  CAF_MESSAGE(err);
  CAF_CHECK_NOT_EQUAL(err.find("sdk_hello_other.so was built for another "
                               "server (headers_hash: library \"0000\", "
                               "server \""
                               + std::string{DJA_SDK_HEADERS_HASH} + "\")"),
                      std::string::npos);
  CAF_CHECK(plugins::find_type("sdk.hello_other") == nullptr);
}

CAF_TEST(identity fields are compared one by one) {
  auto mine = sdk::this_build();
  auto other = mine;
  CAF_CHECK_EQUAL(plugins::identity_diff(other, mine), "");
  other.cxx_abi = "cxx11_abi=0 glibcxx=20220819";
  other.compiler = "clang 14.0.6";
  CAF_CHECK_EQUAL(plugins::identity_diff(other, mine),
                  "compiler: library \"clang 14.0.6\", server \""
                    + std::string{mine.compiler} + "\"; cxx_abi: library "
                    "\"cxx11_abi=0 glibcxx=20220819\", server \""
                    + mine.cxx_abi + "\"");
}

CAF_TEST(an init that throws is refused with its message) {
  auto err = plugins::load_library(lib("sdk_throwing.so"));
  CAF_MESSAGE(err);
  CAF_CHECK_NOT_EQUAL(err.find("sdk_throwing.so failed in its init: cannot "
                               "open /nonexistent/hello.db"),
                      std::string::npos);
}

CAF_TEST(a library without the entry point is refused) {
  auto err = plugins::load_library(CAF_CORE_LIB_PATH);
  CAF_MESSAGE(err);
  CAF_CHECK_NOT_EQUAL(err.find("has no entry point djabberd_actors_plugin_v1"),
                      std::string::npos);
  err = plugins::load_library(lib("nonexistent.so"));
  CAF_CHECK_NOT_EQUAL(err.find("nonexistent.so cannot be loaded"),
                      std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
