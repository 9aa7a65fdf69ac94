#define CAF_SUITE metrics.exposition

// The Prometheus text format 0.0.4 as the renderer writes it
// (actors/metrics/exposition.hpp), the histogram's buckets, and the
// per-thread cells added up (actors/metrics/cells.hpp).

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "metrics/cells.hpp"
#include "metrics/exposition.hpp"

using namespace dja::metrics;
using namespace std::chrono_literals;

namespace {

/// The lines of `text` that start with `prefix`.
std::vector<std::string> lines(const std::string& text,
                               const std::string& prefix) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0)
      out.push_back(line);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

} // namespace

CAF_TEST(a counter family has its HELP and TYPE lines then its samples) {
  exposition out;
  out.family("dja_things_total", exposition::type::counter,
             "Things seen.");
  out.sample({{"kind", "a"}}, int64_t{3});
  out.sample({{"kind", "b"}, {"vhost", "example.org"}}, int64_t{0});
  out.family("dja_open", exposition::type::gauge, "Open now.");
  out.sample({}, int64_t{-2});
  CAF_CHECK_EQUAL(out.text(), "# HELP dja_things_total Things seen.\n"
                              "# TYPE dja_things_total counter\n"
                              "dja_things_total{kind=\"a\"} 3\n"
                              "dja_things_total{kind=\"b\",vhost=\"example.org\"} 0\n"
                              "# HELP dja_open Open now.\n"
                              "# TYPE dja_open gauge\n"
                              "dja_open -2\n");
}

CAF_TEST(label values escape backslash quote and newline; help escapes
           backslash and newline only) {
  exposition out;
  out.family("x", exposition::type::gauge, "a \\ b\n\"c\"");
  out.sample({{"v", "q\"uo\\te\nd"}}, int64_t{1});
  CAF_CHECK_EQUAL(out.text(), "# HELP x a \\\\ b\\n\"c\"\n"
                              "# TYPE x gauge\n"
                              "x{v=\"q\\\"uo\\\\te\\nd\"} 1\n");
}

CAF_TEST(values are written as Prometheus reads them) {
  CAF_CHECK_EQUAL(format_value(0.5), "0.5");
  CAF_CHECK_EQUAL(format_value(1e-6), "1e-06");
  CAF_CHECK_EQUAL(format_value(10.0), "10");
  CAF_CHECK_EQUAL(format_value(1.0 / 0.0), "+Inf");
  CAF_CHECK_EQUAL(format_value(-1.0 / 0.0), "-Inf");
  CAF_CHECK_EQUAL(format_value(0.0 / 0.0), "NaN");
}

CAF_TEST(a value falls in the first bucket whose bound it does not exceed) {
  histogram h;
  h.observe(0ns);       // le 1e-06
  h.observe(1000ns);    // le 1e-06: on the bound
  h.observe(1001ns);    // le 2.5e-06
  h.observe(3ms);       // le 0.005
  h.observe(10s);       // le 10
  h.observe(11s);       // +Inf only
  CAF_CHECK_EQUAL(h.bucket(0), 2);
  CAF_CHECK_EQUAL(h.bucket(1), 1);
  CAF_CHECK_EQUAL(h.bucket(11), 1); // 5e-3
  CAF_CHECK_EQUAL(h.bucket(21), 1); // 10
  CAF_CHECK_EQUAL(h.bucket(22), 1); // +Inf
  CAF_CHECK_EQUAL(h.sum_ns(), 2001 + 3'000'000 + 21'000'000'000);
}

CAF_TEST(a histogram renders cumulative buckets up to +Inf then sum and
           count) {
  histogram h;
  h.observe(2us);
  h.observe(2us);
  h.observe(20ms);
  h.observe(30s);
  histogram_sum s;
  s.add(h);
  exposition out;
  out.family("dja_lat_seconds", exposition::type::histogram, "Latency.");
  out.sample({{"hook", "roster.get"}}, s);
  auto text = out.text();
  auto buckets = lines(text, "dja_lat_seconds_bucket");
  CAF_REQUIRE_EQUAL(buckets.size(), bounds_s.size() + 1);
  CAF_CHECK_EQUAL(buckets[0],
                  "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"1e-06\"} 0");
  CAF_CHECK_EQUAL(
    buckets[1], "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"2.5e-06\"} 2");
  CAF_CHECK_EQUAL(
    buckets[12], "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"0.01\"} 2");
  CAF_CHECK_EQUAL(
    buckets[13], "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"0.025\"} 3");
  CAF_CHECK_EQUAL(buckets[21],
                  "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"10\"} 3");
  CAF_CHECK_EQUAL(buckets[22],
                  "dja_lat_seconds_bucket{hook=\"roster.get\",le=\"+Inf\"} 4");
  CAF_CHECK_EQUAL(lines(text, "dja_lat_seconds_sum"),
                  std::vector<std::string>{
                    "dja_lat_seconds_sum{hook=\"roster.get\"} 30.020004"});
  CAF_CHECK_EQUAL(lines(text, "dja_lat_seconds_count"),
                  std::vector<std::string>{
                    "dja_lat_seconds_count{hook=\"roster.get\"} 4"});
  CAF_CHECK_EQUAL(lines(text, "# TYPE"),
                  std::vector<std::string>{"# TYPE dja_lat_seconds histogram"});
}

CAF_TEST(counts of several threads add up; a gauge may go up on one thread
           and down on another) {
  auto sum = [] {
    int64_t open = 0;
    int64_t total = 0;
    int64_t msgs = 0;
    for_each_thread([&](const thread_cells& c) {
      open += c.connections_open[static_cast<size_t>(conn_kind::c2s)].get();
      total += c.connections_total[static_cast<size_t>(conn_kind::c2s)].get();
      msgs += c.stanzas[0][0][0].get();
    });
    return std::make_tuple(open, total, msgs);
  };
  auto [open0, total0, msgs0] = sum();
  connection(conn_kind::c2s, +1);
  std::thread t{[] {
    connection(conn_kind::c2s, +1);
    connection(conn_kind::c2s, -1);
    connection(conn_kind::c2s, -1); // the one the main thread opened
    for (int i = 0; i < 1000; ++i)
      stanza(stream_kind::c2s, direction::in, "message");
    stanza(stream_kind::c2s, direction::in, "r"); // XEP-0198: not a stanza
  }};
  t.join();
  auto [open1, total1, msgs1] = sum();
  CAF_CHECK_EQUAL(open1 - open0, 0);
  CAF_CHECK_EQUAL(total1 - total0, 2);
  CAF_CHECK_EQUAL(msgs1 - msgs0, 1000);
  // The cells of a thread that ended are reused, its counts kept.
  std::thread u{[] { stanza(stream_kind::c2s, direction::in, "message"); }};
  u.join();
  auto [open2, total2, msgs2] = sum();
  CAF_CHECK_EQUAL(msgs2 - msgs1, 1);
}

CAF_TEST(nothing is counted while metrics are off) {
  auto count = [] {
    int64_t n = 0;
    for_each_thread([&](const thread_cells& c) {
      n += c.stanzas[0][1][2].get();
    });
    return n;
  };
  auto before = count();
  set_enabled(false);
  stanza(stream_kind::c2s, direction::out, "iq");
  open_connection oc;
  oc.open(conn_kind::s2s_out);
  CAF_CHECK(now() == std::chrono::steady_clock::time_point{});
  set_enabled(true);
  CAF_CHECK_EQUAL(count(), before);
  stanza(stream_kind::c2s, direction::out, "iq");
  CAF_CHECK_EQUAL(count(), before + 1);
}
