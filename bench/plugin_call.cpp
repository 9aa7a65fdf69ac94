// dja-plugin-call: the cost of one hook call through a plugin library
// (.so, loaded by the server's loader) against the same plugin compiled
// in (issue: "within 10 % of a built-in plugin's"). Both are the example
// plugin (examples/plugin-hello/hello.cpp): a driver actor sends
// `auth.check_password` requests one after the other (each answered
// before the next, as the vhost's chain runner does), and the same for
// the `iq` hook; per call, the median of the rounds.
//
//   build/bench/dja-plugin-call [calls per round, default 200000] [rounds]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "server/plugin_loader.hpp"
#include "server/registry.hpp"

// The same plugin, built in (DJA_PLUGIN_LIBRARY is not defined here).
#define HELLO_TYPE "bench.hello_builtin"
#include "../examples/plugin-hello/hello.cpp"

using namespace std::chrono;

namespace {

struct run_cfg {
  caf::actor plugin;
  int calls;
};

/// Sends `make()` `calls` times in sequence, then answers its elapsed time.
template <class Make>
caf::behavior driver(caf::event_based_actor* self, run_cfg cfg, Make make,
                     caf::response_promise done, steady_clock::time_point t0) {
  auto left = std::make_shared<int>(cfg.calls);
  auto next = std::make_shared<std::function<void()>>();
  *next = [=]() mutable {
    if ((*left)-- == 0) {
      done.deliver(static_cast<int64_t>(
        duration_cast<nanoseconds>(steady_clock::now() - t0).count()));
      self->quit();
      return;
    }
    self->request(cfg.plugin, caf::infinite, make())
      .then([next](const typename decltype(make())::answer_type&) {
        (*next)();
      });
  };
  (*next)();
  return {[](int) {}};
}

template <class Make>
double ns_per_call(caf::actor_system& sys, caf::actor plugin, int calls,
                   Make make) {
  caf::scoped_actor self{sys};
  int64_t ns = 0;
  auto starter = sys.spawn([&](caf::event_based_actor* s) -> caf::behavior {
    return {[=](caf::atom_value) {
      auto rp = s->make_response_promise<int64_t>();
      s->spawn(driver<Make>, run_cfg{plugin, calls}, make, rp,
               steady_clock::now());
      return rp;
    }};
  });
  self->request(starter, caf::infinite, caf::atom("go"))
    .receive([&](int64_t x) { ns = x; }, [](caf::error&) {});
  caf::anon_send_exit(starter, caf::exit_reason::user_shutdown);
  return static_cast<double>(ns) / calls;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 200000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  if (auto err = dja::plugins::load_library(DJA_BENCH_PLUGIN); !err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  toml::table options{{"users", toml::table{{"alice", "secret"}}}};
  dja::plugins::manifest all;
  dja::plugins::spawn_context ctx{sys, "localhost", "/tmp", options, all, {}};
  auto builtin = hello_type().spawn(ctx);
  auto loaded = dja::plugins::find_type("sdk.hello")->spawn(ctx);
  auto alice = *dja::jid::make("alice", "localhost");
  auto password = [alice] {
    return dja::hooks::auth_check_password{alice, "secret", ""};
  };
  auto iq = std::make_shared<dja::xml::element>("iq", "jabber:client");
  iq->set_attr("type", "get").set_attr("id", "b1");
  iq->add_child(dja::xml::element{"hello", "urn:example:hello"});
  auto domain = *dja::jid::make("", "localhost");
  auto iq_req = [=] { return dja::hooks::iq_request{iq, alice, domain}; };
  std::printf("%d calls per round, %d rounds, median ns per call\n", calls,
              rounds);
  auto compare = [&](const char* hook, auto make) {
    std::vector<double> b, l;
    ns_per_call(sys, builtin, calls / 10, make); // warm-up
    ns_per_call(sys, loaded, calls / 10, make);
    for (int i = 0; i < rounds; ++i) {
      b.push_back(ns_per_call(sys, builtin, calls, make));
      l.push_back(ns_per_call(sys, loaded, calls, make));
    }
    auto mb = median(b);
    auto ml = median(l);
    std::printf("%-22s built-in %8.0f   .so %8.0f   .so/built-in %+.1f %%\n",
                hook, mb, ml, (ml / mb - 1) * 100);
  };
  compare("auth.check_password", password);
  compare("iq (urn:example:hello)", iq_req);
  caf::anon_send_exit(builtin, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(loaded, caf::exit_reason::user_shutdown);
  return 0;
}
