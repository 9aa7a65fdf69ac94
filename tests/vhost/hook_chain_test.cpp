#define CAF_SUITE vhost.hook_chain

// The vhost's hook runner (docs/hooks.md), driven by the deterministic test
// coordinator. Fake plugin actors (vhost/fake_plugin.hpp) answer, decline,
// fail, stay silent, die or answer late; a probe actor plays the caller and
// records its answer.

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

xml::element_ptr iq(const std::string& type, const std::string& payload_ns) {
  auto e = std::make_shared<xml::element>("iq", ns::client);
  e->set_attr("type", type);
  e->set_attr("id", "q1");
  e->set_attr("from", "alice@example.org/home");
  e->set_attr("to", "example.org");
  e->add_child(xml::element{payload_ns == ns::ping ? "ping" : "query",
                            payload_ns});
  return e;
}

hooks::iq_request iq_req(const std::string& type, const std::string& ns) {
  return {iq(type, ns), J("alice@example.org/home"), J("example.org")};
}

xml::element_ptr chat() {
  auto e = std::make_shared<xml::element>("message", ns::client);
  e->set_attr("type", "chat");
  e->set_attr("from", "alice@example.org/home");
  e->set_attr("to", "bob@example.org");
  return e;
}

/// The defined condition of an error stanza, or "" when it is none.
std::string condition(const xml::element_ptr& e) {
  if (!e || e->attr_or("type") != "error")
    return {};
  auto err = e->child("error");
  auto c = err ? err->first_element() : nullptr;
  return c && c->ns == ns::stanzas_err ? c->name : std::string{};
}

std::string condition(const std::optional<xml::element_ptr>& e) {
  return e ? condition(*e) : "(no answer)";
}

/// Which fake plugin built an iq reply, or "" when none did.
std::string answered_by(const std::optional<xml::element_ptr>& e) {
  auto c = e && *e ? (*e)->child("answered-by") : nullptr;
  return c ? c->attr_or("name") : std::string{};
}

const hooks::auth_check_password pw{J("alice@example.org"), "secret", "::1"};
const hooks::hook_id check_pw = hooks::id<hooks::auth_check_password>;

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink
    = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  caf::actor probe;
  std::vector<caf::actor> vhosts;

  fixture() {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", sink));
    spdlog::set_level(spdlog::level::info);
  }

  ~fixture() override {
    // A silent plugin keeps a promise to its vhost, which keeps the plugin:
    // shut the vhosts down so that the actor system can end.
    for (auto& vh : vhosts)
      caf::anon_send(vh, shutdown_atom::value);
    sched.run();
    log->current.clear(); // no cycle journal <-> plugin state
  }

  plugin_instance plugin(fake f) {
    return instance(f, log);
  }

  caf::actor vhost(std::vector<fake> fakes) {
    std::vector<plugin_instance> ps;
    for (auto& f : fakes)
      ps.push_back(plugin(std::move(f)));
    auto res = spawn_vhost(sys, "example.org", std::move(ps));
    vhosts.push_back(res);
    sched.run();
    return res;
  }

  /// Spawns a probe that sends `req` to `vh` and records the answer. Only
  /// messages run here: timeouts fire when a test says so.
  template <class T, class Req>
  std::shared_ptr<reply<T>> ask(const caf::actor& vh, Req req,
                                bool run = true) {
    auto out = std::make_shared<reply<T>>();
    probe = sys.spawn([vh, req, out](caf::event_based_actor* self) {
      self->request(vh, caf::infinite, req)
        .then([out](T& x) { ++out->count; out->value = std::move(x); },
              [out](caf::error& e) { ++out->count; out->err = std::move(e); });
    });
    if (run)
      sched.run();
    return out;
  }

  using hops = std::vector<std::string>;

  bool logged(const std::string& a, const std::string& b) {
    for (auto& line : sink->last_formatted())
      if (line.find(a) != std::string::npos
          && line.find(b) != std::string::npos)
        return true;
    return false;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(hook_chain_tests, fixture)

CAF_TEST(a declining plugin hands the request to the next in config order) {
  auto vh = vhost({{"p1", {act::decline}, {check_pw}},
                   {"p2", {act::accept}, {check_pw}},
                   {"p3", {act::reject}, {check_pw}}});
  auto p1 = log->current["p1"];
  auto p2 = log->current["p2"];
  auto out = ask<bool>(vh, pw, false);
  sched.run_once(); // the probe starts and sends its request
  expect((hooks::auth_check_password), from(probe).to(vh));
  expect((hooks::auth_check_password), from(vh).to(p1));
  expect((hooks::answer<bool>), from(p1).to(vh));
  expect((hooks::auth_check_password), from(vh).to(p2));
  expect((hooks::answer<bool>), from(p2).to(vh));
  expect((bool), from(vh).to(probe).with(true));
  sched.run();
  CAF_CHECK_EQUAL(log->hops, (hops{"p1 auth.check_password",
                                   "p2 auth.check_password"}));
  CAF_CHECK_EQUAL(out->count, 1);
  CAF_CHECK(out->value == true);
}

CAF_TEST(when every plugin declines the hook default applies) {
  std::vector<hooks::hook_id> all{check_pw,
                                  hooks::id<hooks::auth_user_exists>,
                                  hooks::id<hooks::deliver>,
                                  hooks::id<hooks::connection_accepted>};
  auto vh = vhost({{"p1", {act::decline}, all, {"get urn:test:x"}},
                   {"p2", {act::decline}, all, {"get urn:test:x"}}});
  CAF_MESSAGE("check_password: rejected");
  CAF_CHECK(ask<bool>(vh, pw)->value == false);
  CAF_MESSAGE("user_exists: false");
  CAF_CHECK(ask<bool>(vh, hooks::auth_user_exists{J("alice@example.org")})
              ->value
            == false);
  CAF_MESSAGE("deliver: nobody took it");
  CAF_CHECK(ask<hooks::delivery_verdict>(vh, hooks::deliver{chat(), J("bob@example.org")})
                ->value->taken
            == false);
  CAF_MESSAGE("connection_accepted: accepted");
  CAF_CHECK(ask<bool>(vh, hooks::connection_accepted{"::1", 4711})->value
            == true);
  CAF_CHECK_EQUAL(log->hops.size(), 8u); // each hook walked both plugins
  CAF_MESSAGE("iq whose plugins all decline: service-unavailable");
  log->hops.clear();
  auto r = ask<xml::element_ptr>(vh, iq_req("get", "urn:test:x"));
  CAF_CHECK_EQUAL(condition(r->value), "service-unavailable");
  CAF_CHECK_EQUAL(log->hops.size(), 2u);
  CAF_MESSAGE("iq of an unknown namespace: service-unavailable, no hop");
  log->hops.clear();
  r = ask<xml::element_ptr>(vh, iq_req("get", "urn:test:unknown"));
  CAF_REQUIRE(r->value && *r->value);
  CAF_CHECK_EQUAL(condition(r->value), "service-unavailable");
  CAF_CHECK_EQUAL((*r->value)->attr_or("id"), "q1");
  CAF_CHECK_EQUAL((*r->value)->attr_or("to"), "alice@example.org/home");
  CAF_CHECK_EQUAL((*r->value)->attr_or("from"), "example.org");
  CAF_CHECK(log->hops.empty());
}

CAF_TEST(an error ends a first chain and is never an accept) {
  std::vector<hooks::hook_id> all{check_pw, hooks::id<hooks::deliver>,
                                  hooks::id<hooks::connection_accepted>};
  auto vh = vhost({{"p1", {act::fail}, all, {"get urn:test:x"}},
                   {"p2", {act::accept}, all, {"get urn:test:x"}}});
  auto r = ask<bool>(vh, pw);
  CAF_CHECK_EQUAL(r->count, 1);
  CAF_CHECK(!r->value);
  CAF_CHECK(r->err);
  CAF_CHECK(ask<bool>(vh, hooks::connection_accepted{"::1", 1})->value
            == false);
  CAF_CHECK(ask<hooks::delivery_verdict>(vh, hooks::deliver{chat(), J("bob@example.org")})
                ->value->taken
            == false);
  auto q = ask<xml::element_ptr>(vh, iq_req("get", "urn:test:x"));
  CAF_CHECK_EQUAL(condition(q->value), "internal-server-error");
  for (auto& h : log->hops)
    CAF_CHECK_EQUAL(h.substr(0, 3), "p1 "); // p2 was never asked
  CAF_CHECK(logged("p1", "auth.check_password"));
}

CAF_TEST(a plugin that never answers times out into an error) {
  auto vh = vhost({{"p1", {act::silent}, {check_pw}, {}, 100ms},
                   {"p2", {act::accept}, {check_pw}}});
  auto r = ask<bool>(vh, pw);
  CAF_CHECK_EQUAL(r->count, 0); // still waiting
  advance_time(99ms);
  sched.run();
  CAF_CHECK_EQUAL(r->count, 0);
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(r->count, 1);
  CAF_CHECK(!r->value);
  CAF_CHECK(r->err == caf::sec::request_timeout);
  CAF_CHECK_EQUAL(log->hops, (hops{"p1 auth.check_password"}));
  CAF_CHECK(logged("p1", "did not answer auth.check_password"));
}

CAF_TEST(a late answer counts within the timeout and is ignored after it) {
  auto vh = vhost({{"fast", {act::late}, {check_pw}, {}, 100ms, 50ms}});
  auto r = ask<bool>(vh, pw);
  advance_time(50ms);
  sched.run();
  CAF_CHECK_EQUAL(r->count, 1);
  CAF_CHECK(r->value == true);
  auto vh2 = vhost({{"slow", {act::late}, {check_pw}, {}, 100ms, 200ms}});
  r = ask<bool>(vh2, pw);
  advance_time(100ms);
  sched.run();
  CAF_CHECK_EQUAL(r->count, 1);
  CAF_CHECK(r->err == caf::sec::request_timeout);
  advance_time(100ms); // the answer arrives, too late
  sched.run();
  CAF_CHECK_EQUAL(r->count, 1);
  CAF_CHECK(!r->value);
}

CAF_TEST(a plugin dying mid-request fails it at once and is restarted) {
  for (auto death : {act::quit, act::crash}) {
    CAF_MESSAGE((death == act::quit ? "quits" : "throws"));
    log->hops.clear();
    log->spawns.clear();
    auto vh = vhost({{"p1", {death, act::accept}, {check_pw}},
                     {"p2", {act::accept}, {check_pw}}});
    CAF_CHECK_EQUAL(log->spawns["p1"], 1);
    auto r = ask<bool>(vh, pw); // runs messages only, no timeout fires
    CAF_CHECK_EQUAL(r->count, 1);
    CAF_CHECK(!r->value); // fail closed: p2 is not asked instead
    CAF_CHECK(r->err);
    CAF_CHECK(r->err != caf::sec::request_timeout);
    CAF_CHECK_EQUAL(log->spawns["p1"], 2);
    CAF_CHECK(logged("p1", "died"));
    r = ask<bool>(vh, pw); // the restarted p1 answers
    CAF_CHECK(r->value == true);
    CAF_CHECK_EQUAL(log->hops, (hops{"p1 auth.check_password",
                                     "p1 auth.check_password"}));
    CAF_CHECK_EQUAL(log->spawns["p1"], 2);
  }
}

CAF_TEST(iq requests reach only the plugins declaring their type and ns) {
  auto vh = vhost({{"ping", {act::accept}, {}, {"get urn:xmpp:ping"}},
                   {"disco", {act::accept}, {}, {std::string{"get "}
                                                 + ns::disco_info}}});
  auto r = ask<xml::element_ptr>(vh, iq_req("get", ns::disco_info));
  CAF_REQUIRE(r->value && *r->value);
  auto& reply = **r->value;
  CAF_CHECK_EQUAL(answered_by(r->value), "disco");
  CAF_CHECK_EQUAL(reply.attr_or("type"), "result");
  CAF_CHECK_EQUAL(reply.attr_or("id"), "q1");
  CAF_CHECK_EQUAL(reply.attr_or("from"), "example.org");
  CAF_CHECK_EQUAL(reply.attr_or("to"), "alice@example.org/home");
  CAF_CHECK_EQUAL(log->hops, (hops{"disco iq"}));
  r = ask<xml::element_ptr>(vh, iq_req("get", ns::ping));
  CAF_CHECK_EQUAL(answered_by(r->value), "ping");
  r = ask<xml::element_ptr>(vh, iq_req("set", ns::ping));
  CAF_CHECK_EQUAL(condition(r->value), "service-unavailable");
  CAF_CHECK_EQUAL(log->hops, (hops{"disco iq", "ping iq"}));
}

CAF_TEST(filter.stanza folds: pass alter drop) {
  const hooks::hook_id filt = hooks::id<hooks::filter_stanza>;
  auto in = chat();
  hooks::filter_stanza req{in, J("alice@example.org/home")};
  CAF_MESSAGE("no filter: the very same stanza goes on");
  auto none = vhost({});
  auto r = ask<hooks::filter_verdict>(none, req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == in);
  CAF_MESSAGE("alter, pass, alter: both changes, in order");
  auto vh = vhost({{"a", {act::accept}, {filt}},
                   {"b", {act::decline}, {filt}},
                   {"c", {act::accept}, {filt}}});
  r = ask<hooks::filter_verdict>(vh, req);
  CAF_REQUIRE(r->value && r->value->stanza);
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-a"), "yes");
  CAF_CHECK_EQUAL(r->value->stanza->attr_or("seen-c"), "yes");
  CAF_CHECK_EQUAL(log->hops, (hops{"a filter.stanza", "b filter.stanza seen-a",
                                   "c filter.stanza seen-a"}));
  CAF_CHECK(in->attr("seen-a") == nullptr); // the original is untouched
  CAF_MESSAGE("a drop ends the fold");
  log->hops.clear();
  auto dropper = vhost({{"d", {act::reject}, {filt}},
                        {"e", {act::accept}, {filt}}});
  r = ask<hooks::filter_verdict>(dropper, req);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == nullptr);
  CAF_CHECK_EQUAL(r->value->reason, "dropped by d");
  CAF_CHECK_EQUAL(log->hops, (hops{"d filter.stanza"}));
  CAF_MESSAGE("an error drops the stanza");
  auto broken = vhost({{"f", {act::fail}, {filt}}});
  r = ask<hooks::filter_verdict>(broken, req);
  CAF_REQUIRE_EQUAL(r->count, 1);
  CAF_REQUIRE(r->value);
  CAF_CHECK(r->value->stanza == nullptr);
}

CAF_TEST(notifications reach every declaring plugin and nobody waits) {
  const hooks::hook_id bound = hooks::id<hooks::session_bound>;
  const hooks::hook_id closed = hooks::id<hooks::session_closed>;
  auto vh = vhost({{"mute", {act::silent}, {bound, closed}},
                   {"auth", {act::accept}, {check_pw}},
                   {"log", {act::decline}, {bound}}});
  auto who = J("alice@example.org/home");
  caf::anon_send(vh, hooks::session_bound{who, caf::actor{}, "::1"});
  sched.run();
  caf::anon_send(vh, hooks::session_closed{who, "bye"});
  sched.run();
  CAF_CHECK_EQUAL(log->hops,
                  (hops{"mute session.bound alice@example.org/home (send)",
                        "log session.bound alice@example.org/home (send)",
                        "mute session.closed alice@example.org/home (send)"}));
  CAF_CHECK(ask<bool>(vh, pw)->value == true); // the vhost is not blocked
}

CAF_TEST_FIXTURE_SCOPE_END()
