#define CAF_SUITE metrics.scrape

// The metrics actor (actors/metrics/metrics.hpp) scraping a real vhost
// whose fake plugins (tests/vhost/fake_plugin.hpp) decline, accept, fail,
// stay silent past their timeout and crash; and router shards, one of
// which never answers its probe. Driven by the deterministic coordinator.

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <optional>
#include <string>

#include <caf/all.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "metrics/metrics.hpp"
#include "vhost/fake_plugin.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace dja::testing;
using namespace std::chrono_literals;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

const hooks::auth_check_password pw{J("alice@example.org"), "secret", "::1"};

/// A router shard as the scrape sees it: 2 users, 3 sessions.
caf::behavior fake_shard() {
  return {
    [](metrics::probe_atom) -> caf::result<size_t, size_t, size_t> {
      return {size_t{0}, size_t{2}, size_t{3}};
    },
  };
}

/// A shard that never answers (its probe times out).
caf::behavior stuck_shard(caf::event_based_actor* self) {
  return {
    [self](metrics::probe_atom) -> caf::result<size_t, size_t, size_t> {
      return self->make_response_promise<size_t, size_t, size_t>();
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<journal> log = std::make_shared<journal>();
  caf::actor vh;
  std::optional<std::string> text;
  std::optional<std::pair<bool, std::string>> health;

  fixture() {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "t", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }

  ~fixture() override {
    caf::anon_send(vh, shutdown_atom::value);
    sched.run();
    log->current.clear();
  }

  plugin_instance plugin(fake f) {
    return instance(f, log);
  }

  /// Runs a hook request through the vhost (nobody waits for the answer).
  template <class Req>
  void ask(Req req) {
    caf::anon_send(vh, std::move(req));
    sched.run();
  }

  void scrape(caf::actor m) {
    text.reset();
    sys.spawn([m, this](caf::event_based_actor* self) {
      self->request(m, caf::infinite, metrics::scrape_atom::value)
        .then([this](std::string& s) { text = std::move(s); });
    });
    sched.run();
  }

  void check_health(caf::actor m) {
    health.reset();
    sys.spawn([m, this](caf::event_based_actor* self) {
      self->request(m, caf::infinite, metrics::health_atom::value)
        .then([this](bool ok, std::string& why) {
          health.emplace(ok, std::move(why));
        });
    });
    sched.run();
  }

  bool has(const std::string& line) {
    return text && text->find("\n" + line + "\n") != std::string::npos;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(scrape_tests, fixture)

CAF_TEST(a scrape counts the calls declines errors timeouts and restarts
           of each plugin and probes the hot actors) {
  auto check_pw = hooks::id<hooks::auth_check_password>;
  auto exists = hooks::id<hooks::auth_user_exists>;
  auto deliver = hooks::id<hooks::deliver>;
  auto accepted = hooks::id<hooks::connection_accepted>;
  std::vector<plugin_instance> ps;
  ps.push_back(plugin({"p1", {act::decline}, {check_pw, exists}}));
  ps.push_back(plugin({"p2", {act::accept}, {check_pw}}));
  ps.push_back(plugin({"p3", {act::fail}, {exists}}));
  ps.push_back(plugin({"p4", {act::silent}, {deliver}, {}, 100ms}));
  ps.push_back(plugin({"p5", {act::crash, act::accept}, {accepted}}));
  vh = spawn_vhost(sys, "example.org", std::move(ps));
  sched.run();
  auto shard = sys.spawn(fake_shard);
  auto stuck = sys.spawn(stuck_shard);
  auto m = metrics::start(sys, {{shard, stuck}, {{"example.org", vh}}, {}, {}});
  CAF_CHECK(metrics::find(sys) == m);

  ask(pw);
  ask(pw);
  ask(hooks::auth_user_exists{J("alice@example.org")});
  ask(hooks::connection_accepted{"192.0.2.1", 4000}); // p5 crashes
  ask(hooks::deliver{std::make_shared<xml::element>("message", "jabber:client"),
                     J("bob@example.org")});
  advance_time(100ms); // p4's timeout_ms
  sched.run();
  scrape(m); // the stuck shard's probe is pending
  CAF_CHECK(!text);
  sched.trigger_timeouts(); // its probe_timeout
  sched.run();
  CAF_REQUIRE(text);
  const std::string p1 = R"(vhost="example.org",plugin="p1",)";
  CAF_CHECK(has("dja_hook_calls_total{" + p1 + R"(hook="auth.check_password"} 2)"));
  CAF_CHECK(has("dja_hook_declines_total{" + p1 + R"(hook="auth.check_password"} 2)"));
  CAF_CHECK(has("dja_hook_calls_total{" + p1 + R"(hook="auth.user_exists"} 1)"));
  CAF_CHECK(has(R"(dja_hook_calls_total{vhost="example.org",plugin="p2",hook="auth.check_password"} 2)"));
  CAF_CHECK(has(R"(dja_hook_declines_total{vhost="example.org",plugin="p2",hook="auth.check_password"} 0)"));
  CAF_CHECK(has(R"(dja_hook_errors_total{vhost="example.org",plugin="p3",hook="auth.user_exists"} 1)"));
  CAF_CHECK(has(R"(dja_hook_errors_total{vhost="example.org",plugin="p5",hook="connection.accepted"} 1)"));
  CAF_CHECK(has(R"(dja_plugin_restarts_total{vhost="example.org",plugin="p5"} 1)"));
  CAF_CHECK(has(R"(dja_hook_timeouts_total{vhost="example.org",plugin="p4",hook="deliver"} 1)"));
  CAF_CHECK(has(R"(dja_hook_errors_total{vhost="example.org",plugin="p4",hook="deliver"} 0)"));
  CAF_CHECK(has(R"(dja_hook_duration_seconds_count{vhost="example.org",plugin="p4",hook="deliver"} 1)"));
  CAF_CHECK(has(R"(dja_plugin_requests_in_flight{vhost="example.org",plugin="p4"} 0)"));
  CAF_CHECK(has(R"(dja_hook_duration_seconds_bucket{vhost="example.org",plugin="p1",hook="auth.check_password",le="+Inf"} 2)"));
  CAF_CHECK(has("dja_sessions 3"));
  CAF_CHECK(has("dja_users_online 2"));
  CAF_CHECK(has(R"(dja_actor_up{actor="router_shard",id="0"} 1)"));
  CAF_CHECK(has(R"(dja_actor_up{actor="router_shard",id="1"} 0)"));
  CAF_CHECK(has(R"(dja_actor_up{actor="vhost",id="example.org"} 1)"));
  CAF_CHECK(has(R"(dja_actor_mailbox_depth{actor="vhost",id="example.org"} 0)"));
  CAF_CHECK(text->find(R"(dja_actor_mailbox_depth{actor="router_shard",id="1"})")
            == std::string::npos);
  CAF_CHECK(has("# TYPE dja_hook_duration_seconds histogram"));
  CAF_CHECK(has("# TYPE process_cpu_seconds_total counter"));
  CAF_CHECK(text->find("\nprocess_resident_memory_bytes ") != std::string::npos);
  CAF_CHECK(text->find("\nprocess_open_fds ") != std::string::npos);
  CAF_CHECK(text->find("\nprocess_start_time_seconds ") != std::string::npos);

  CAF_MESSAGE("health names the shard that did not answer");
  check_health(m);
  sched.trigger_timeouts();
  sched.run();
  CAF_REQUIRE(health);
  CAF_CHECK_EQUAL(health->first, false);
  CAF_CHECK_EQUAL(health->second, "no answer within 1 s from router_shard 1");
  caf::anon_send_exit(stuck, caf::exit_reason::kill);
  caf::anon_send_exit(m, caf::exit_reason::kill);
  sched.run();
}

CAF_TEST(the request of a silent plugin is in flight until it times out) {
  auto deliver = hooks::id<hooks::deliver>;
  std::vector<plugin_instance> ps;
  ps.push_back(plugin({"slow", {act::silent}, {deliver}, {}, 100ms}));
  vh = spawn_vhost(sys, "in-flight.test", std::move(ps));
  sched.run();
  auto m = metrics::start(sys, {{}, {{"in-flight.test", vh}}, {}, {}});
  ask(hooks::deliver{std::make_shared<xml::element>("message", "jabber:client"),
                     J("bob@in-flight.test")});
  scrape(m);
  CAF_REQUIRE(text);
  CAF_CHECK(has(R"(dja_plugin_requests_in_flight{vhost="in-flight.test",plugin="slow"} 1)"));
  CAF_CHECK(has(R"(dja_hook_calls_total{vhost="in-flight.test",plugin="slow",hook="deliver"} 1)"));
  CAF_CHECK(has(R"(dja_hook_timeouts_total{vhost="in-flight.test",plugin="slow",hook="deliver"} 0)"));
  check_health(m);
  CAF_REQUIRE(health);
  CAF_CHECK_EQUAL(health->first, true);
  CAF_CHECK_EQUAL(health->second, "ok");
  advance_time(100ms);
  sched.run();
  scrape(m);
  CAF_CHECK(has(R"(dja_plugin_requests_in_flight{vhost="in-flight.test",plugin="slow"} 0)"));
  CAF_CHECK(has(R"(dja_hook_timeouts_total{vhost="in-flight.test",plugin="slow",hook="deliver"} 1)"));
  caf::anon_send_exit(m, caf::exit_reason::kill);
  sched.run();
}

CAF_TEST_FIXTURE_SCOPE_END()
