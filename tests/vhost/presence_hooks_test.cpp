#define CAF_SUITE vhost.presence_hooks

// The vhost's presence hooks (hooks/catalogue.hpp): the presence.alter_*
// folds (alter, decline, drop; an error or a dead plugin lets the presence
// go on unchanged), the presence.check first chain (the whole answer, so
// the router tells "declined" from "nothing to report") and the
// presence.initial notification, with the fakes of vhost/fake_plugin.hpp
// under the deterministic test coordinator.

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <optional>

#include <caf/all.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "vhost/fake_plugin.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace dja::testing;
using namespace std::chrono_literals;

namespace {

template <class T>
struct reply {
  int count = 0;
  std::optional<T> value;
  caf::error err;
};

jid J(const char* s) {
  return *jid::parse(s);
}

const jid alice = J("alice@example.org/home");

xml::element_ptr available() {
  auto e = std::make_shared<xml::element>("presence", ns::client);
  e->set_attr("from", alice.str());
  e->add_child(xml::element{"status", ns::client}).add_text("here");
  return e;
}

const hooks::hook_id alter_av = hooks::id<hooks::presence_alter_available>;
const hooks::hook_id alter_un = hooks::id<hooks::presence_alter_unavailable>;
const hooks::hook_id check = hooks::id<hooks::presence_check>;

using check_answer = hooks::presence_check::answer_type;

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink
    = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  std::vector<caf::actor> vhosts;

  fixture() {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", sink));
    spdlog::set_level(spdlog::level::info);
  }

  ~fixture() override {
    for (auto& vh : vhosts)
      caf::anon_send(vh, shutdown_atom::value);
    sched.run();
    log->current.clear();
  }

  caf::actor vhost(std::vector<fake> fakes) {
    std::vector<plugin_instance> ps;
    for (auto& f : fakes)
      ps.push_back(instance(f, log));
    auto res = spawn_vhost(sys, "example.org", std::move(ps));
    vhosts.push_back(res);
    sched.run();
    return res;
  }

  template <class T, class Req>
  std::shared_ptr<reply<T>> ask(const caf::actor& vh, Req req) {
    auto out = std::make_shared<reply<T>>();
    sys.spawn([vh, req, out](caf::event_based_actor* self) {
      self->request(vh, caf::infinite, req)
        .then([out](T& x) { ++out->count; out->value = std::move(x); },
              [out](caf::error& e) { ++out->count; out->err = std::move(e); });
    });
    sched.run();
    return out;
  }

  using hops = std::vector<std::string>;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(presence_hook_tests, fixture)

CAF_TEST(alter_available folds: alter decline alter in config order) {
  auto in = available();
  hooks::presence_alter_available req{in, alice};
  CAF_MESSAGE("no plugin: the very same presence goes on");
  auto r = ask<hooks::filter_verdict>(vhost({}), req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == in);
  auto vh = vhost({{"a", {act::accept}, {alter_av}},
                   {"b", {act::decline}, {alter_av}},
                   {"c", {act::accept}, {alter_av}}});
  r = ask<hooks::filter_verdict>(vh, req);
  CAF_REQUIRE(r->value && r->value->stanza);
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-a"), "yes");
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-c"), "yes");
  CAF_CHECK_EQUAL(r->value->stanza->child("status")->text(), "here");
  CAF_CHECK_EQUAL(log->hops,
                  (hops{"a presence.alter_available",
                        "b presence.alter_available seen-a",
                        "c presence.alter_available seen-a"}));
  CAF_CHECK(in->attr("seen-a") == nullptr); // the original is untouched
}

CAF_TEST(alter_available: a drop ends the fold) {
  auto vh = vhost({{"a", {act::accept}, {alter_av}},
                   {"d", {act::reject}, {alter_av}},
                   {"e", {act::accept}, {alter_av}}});
  auto r = ask<hooks::filter_verdict>(
    vh, hooks::presence_alter_available{available(), alice});
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == nullptr);
  CAF_CHECK_EQUAL(r->value->reason, "dropped by d");
  CAF_CHECK_EQUAL(log->hops, (hops{"a presence.alter_available",
                                   "d presence.alter_available seen-a"}));
}

CAF_TEST(alter_available: an error lets the presence go on unchanged) {
  auto in = available();
  CAF_MESSAGE("a failing plugin: the original, not the altered one");
  auto vh = vhost({{"a", {act::accept}, {alter_av}},
                   {"f", {act::fail}, {alter_av}},
                   {"g", {act::accept}, {alter_av}}});
  auto r = ask<hooks::filter_verdict>(
    vh, hooks::presence_alter_available{in, alice});
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == in);
  CAF_CHECK_EQUAL(log->hops, (hops{"a presence.alter_available",
                                   "f presence.alter_available seen-a"}));
  CAF_MESSAGE("a plugin that never answers: unchanged after its timeout");
  auto mute = vhost({{"m", {act::silent}, {alter_av}, {}, 200ms}});
  r = ask<hooks::filter_verdict>(mute,
                                 hooks::presence_alter_available{in, alice});
  CAF_CHECK_EQUAL(r->count, 0);
  sched.trigger_timeouts();
  sched.run();
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == in);
  CAF_MESSAGE("a plugin that dies: unchanged at once, and it is restarted");
  auto dying = vhost({{"x", {act::crash, act::accept}, {alter_av}}});
  r = ask<hooks::filter_verdict>(dying,
                                 hooks::presence_alter_available{in, alice});
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == in);
  CAF_CHECK_EQUAL(log->spawns["x"], 2);
  r = ask<hooks::filter_verdict>(dying,
                                 hooks::presence_alter_available{in, alice});
  CAF_REQUIRE(r->value && r->value->stanza);
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-x"), "yes");
}

CAF_TEST(alter_unavailable is its own chain) {
  auto vh = vhost({{"av", {act::reject}, {alter_av}},
                   {"un", {act::accept}, {alter_un}}});
  auto u = std::make_shared<xml::element>("presence", ns::client);
  u->set_attr("type", "unavailable");
  auto r = ask<hooks::filter_verdict>(
    vh, hooks::presence_alter_unavailable{u, alice});
  CAF_REQUIRE(r->value && r->value->stanza);
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-un"), "yes");
  CAF_CHECK_EQUAL(log->hops, (hops{"un presence.alter_unavailable"}));
}

CAF_TEST(presence.check: the first plugin that does not decline answers) {
  hooks::presence_check req{alice, J("bob@example.org")};
  CAF_MESSAGE("no plugin: declined (the router's answer alone)");
  auto r = ask<check_answer>(vhost({}), req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->declined);
  auto vh = vhost({{"d", {act::decline}, {check}},
                   {"gw", {act::accept}, {check}},
                   {"late", {act::accept}, {check}}});
  r = ask<check_answer>(vh, req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(!r->value->declined);
  CAF_REQUIRE_EQUAL(r->value->value.size(), 1u);
  CAF_CHECK_EQUAL(r->value->value[0]->attr_or("from"), "bob@example.org/gw");
  CAF_CHECK_EQUAL(log->hops, (hops{"d presence.check", "gw presence.check"}));
  CAF_MESSAGE("handled with nothing to report is not a decline");
  auto none = vhost({{"n", {act::reject}, {check}}});
  r = ask<check_answer>(none, req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(!r->value->declined);
  CAF_CHECK(r->value->value.empty());
  CAF_MESSAGE("an error counts as declined");
  auto broken = vhost({{"f", {act::fail}, {check}},
                       {"g", {act::accept}, {check}}});
  r = ask<check_answer>(broken, req);
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->declined);
}

CAF_TEST(presence.initial reaches every declaring plugin as a send) {
  const hooks::hook_id initial = hooks::id<hooks::presence_initial>;
  auto vh = vhost({{"a", {act::silent}, {initial}},
                   {"b", {act::decline}, {alter_av}},
                   {"c", {act::decline}, {initial}}});
  caf::anon_send(vh, hooks::presence_initial{alice, available()});
  sched.run();
  CAF_CHECK_EQUAL(log->hops,
                  (hops{"a presence.initial alice@example.org/home (send)",
                        "c presence.initial alice@example.org/home (send)"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
