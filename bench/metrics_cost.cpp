// What the metrics (actors/metrics/cells.hpp) cost on the hot path, per
// call, on one thread and on several at once (each counting into its own
// cells: no shared cache line between them), with counting on and off:
//   stanza    metrics::stanza(): a stanza read or written (name compare,
//             the thread's cells, a relaxed load and store)
//   route     metrics::now() + observe_since(): two clock reads and a
//             histogram bucket, what a router shard adds to one route
//   scrape    the whole exposition (write_all without probes)
// A delivered message costs one stanza in, one route and one stanza out.
//
//   build/bench/dja-metrics-cost [iterations] [threads]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "metrics/cells.hpp"
#include "metrics/snapshot.hpp"

using namespace dja;
using clk = std::chrono::steady_clock;

namespace {

/// ns per iteration of `f`, run `n` times on each of `threads` threads.
template <class F>
double per_call(long n, int threads, F f) {
  auto t0 = clk::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([n, &f] {
      for (long i = 0; i < n; ++i)
        f(i);
    });
  for (auto& t : ts)
    t.join();
  auto ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count();
  return ns / static_cast<double>(n); // wall time per call of one thread
}

const char* names[] = {"message", "presence", "iq"};

void run(long n, int threads) {
  auto stanza = per_call(n, threads, [](long i) {
    metrics::stanza(metrics::stream_kind::c2s, metrics::direction::in,
                    names[i % 3]);
  });
  auto route = per_call(n, threads, [](long) {
    auto t0 = metrics::now();
    metrics::observe_since(metrics::local().route_duration, t0);
  });
  std::printf("  %d thread(s): stanza %.1f ns, route %.1f ns; one delivered "
              "message (2 stanzas + 1 route) %.1f ns\n",
              threads, stanza, route, 2 * stanza + route);
}

} // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 20'000'000;
  int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  for (bool on : {true, false}) {
    metrics::set_enabled(on);
    std::printf("metrics %s, %ld calls per thread:\n", on ? "on" : "off", n);
    run(n, 1);
    if (threads > 1)
      run(n, threads);
  }
  metrics::set_enabled(true);
  metrics::exposition out;
  auto t0 = clk::now();
  constexpr int scrapes = 100;
  for (int i = 0; i < scrapes; ++i) {
    metrics::exposition e;
    metrics::write_all(e, {});
    out = std::move(e);
  }
  auto us = std::chrono::duration<double, std::micro>(clk::now() - t0).count();
  std::printf("scrape without probes: %.0f us, %zu bytes\n", us / scrapes,
              out.text().size());
}
