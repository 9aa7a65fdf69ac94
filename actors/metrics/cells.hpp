#pragma once

// The counters the core keeps for `/metrics` (docs/metrics.md), cheap
// enough to stay on: each thread counts into its own cells (no lock, no
// atomic read-modify-write: a relaxed load and store of a value no other
// thread writes), and a scrape adds up the cells of every thread.
// A gauge (connections open) is an up/down counter: the thread that
// opens adds one, the one that closes takes one away, and the sum over
// threads is the value.
//
// Counting is off when `[server] metrics = false` (set_enabled at
// start, before any actor runs): every helper below returns at once.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace dja::metrics {

/// A value one thread at a time writes and any thread reads.
class counter {
public:
  void add(int64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n,
             std::memory_order_relaxed);
  }
  int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> v_{0};
};

/// The upper bounds (`le`) of every latency histogram, in seconds: 1 µs
/// to 10 s in 1-2.5-5 steps (an actor hop costs microseconds, a store
/// write milliseconds, a plugin timeout seconds).
inline constexpr std::array<double, 22> bounds_s = {
  1e-6,   2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
  5e-4,   1e-3,   2.5e-3, 5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,
  0.25,   0.5,    1.0,    2.5,  5.0,    10.0};

/// The same bounds in nanoseconds (compared with on the hot path).
inline constexpr std::array<int64_t, 22> bounds_ns = {
  1'000,         2'500,         5'000,         10'000,        25'000,
  50'000,        100'000,       250'000,       500'000,       1'000'000,
  2'500'000,     5'000'000,     10'000'000,    25'000'000,    50'000'000,
  100'000'000,   250'000'000,   500'000'000,   1'000'000'000, 2'500'000'000,
  5'000'000'000, 10'000'000'000};

/// A latency histogram: a count per bucket (not cumulative: the renderer
/// adds them up), the last one past 10 s (`+Inf`), and the sum.
class histogram {
public:
  static constexpr size_t buckets = bounds_ns.size() + 1;

  void observe(std::chrono::nanoseconds d) noexcept {
    auto ns = d.count();
    size_t i = 0;
    while (i < bounds_ns.size() && ns > bounds_ns[i])
      ++i;
    counts_[i].add();
    sum_ns_.add(ns);
  }
  int64_t bucket(size_t i) const noexcept { return counts_[i].get(); }
  int64_t sum_ns() const noexcept { return sum_ns_.get(); }

private:
  std::array<counter, buckets> counts_;
  counter sum_ns_;
};

/// A histogram's values added up (over threads, or read once).
struct histogram_sum {
  std::array<int64_t, histogram::buckets> counts{};
  int64_t sum_ns = 0;

  void add(const histogram& h) {
    for (size_t i = 0; i < counts.size(); ++i)
      counts[i] += h.bucket(i);
    sum_ns += h.sum_ns();
  }
};

/// What a connection is (the `kind` label): the listener kinds of the
/// configuration and the outgoing streams of federation. (A cluster's
/// node links are CAF's own: dja_cluster_links.)
enum class conn_kind : uint8_t {
  c2s,
  c2s_tls,
  websocket,
  s2s_in,
  s2s_out,
  component,
  count_
};
constexpr size_t conn_kinds = static_cast<size_t>(conn_kind::count_);
const char* name_of(conn_kind k);

/// The stream a stanza travels on (the `stream` label). A WebSocket
/// session's stanzas count as c2s (RFC 7395: the same stream above the
/// framing).
enum class stream_kind : uint8_t { c2s, s2s, component, count_ };
constexpr size_t stream_kinds = static_cast<size_t>(stream_kind::count_);
const char* name_of(stream_kind k);

/// message / presence / iq (RFC 6120 §8); anything else is not counted.
enum class stanza_kind : uint8_t { message, presence, iq, count_ };
constexpr size_t stanza_kinds = static_cast<size_t>(stanza_kind::count_);
const char* name_of(stanza_kind k);

enum class direction : uint8_t { in, out };

/// The cells of one thread: every series of the core with fixed labels.
struct thread_cells {
  std::array<counter, conn_kinds> connections_open;
  std::array<counter, conn_kinds> connections_total;
  std::array<counter, conn_kinds> connections_refused;
  std::array<std::array<std::array<counter, stanza_kinds>, 2>, stream_kinds>
    stanzas;
  counter sessions_bound_total;
  counter sessions_replaced_total; ///< RFC 6120 §7.7.2.2 conflicts
  counter sessions_refused_total;  ///< over limits.max_resources
  counter routed_total;
  histogram route_duration;
};

namespace detail {
extern bool enabled;
thread_cells& acquire();
} // namespace detail

/// Counting is on (`[server] metrics`, true by default).
inline bool on() noexcept {
  return detail::enabled;
}

/// Switches counting on or off; called once at start, before any actor.
void set_enabled(bool on);

/// The cells of the calling thread (taken on first use: a new thread
/// reuses the cells of one that ended, whose counts stay).
inline thread_cells& local() {
  static thread_local thread_cells* cells = nullptr;
  if (cells == nullptr)
    cells = &detail::acquire();
  return *cells;
}

/// Calls `f` with the cells of every thread that ever counted, under
/// the registry's lock (a scrape adds them up).
void for_each_thread(const std::function<void(const thread_cells&)>& f);

/// The kind of a stanza by its element name; false: not a stanza.
inline bool stanza_kind_of(std::string_view name, stanza_kind& k) {
  if (name == "message")
    k = stanza_kind::message;
  else if (name == "presence")
    k = stanza_kind::presence;
  else if (name == "iq")
    k = stanza_kind::iq;
  else
    return false;
  return true;
}

/// One stanza on a stream: `name` is its element name (only message,
/// presence and iq count).
inline void stanza(stream_kind s, direction d, std::string_view name) {
  stanza_kind k;
  if (!on() || !stanza_kind_of(name, k))
    return;
  local()
    .stanzas[static_cast<size_t>(s)][static_cast<size_t>(d)]
            [static_cast<size_t>(k)]
    .add();
}

/// A connection of `k` opened (+1) or closed (-1).
inline void connection(conn_kind k, int delta) {
  if (!on())
    return;
  auto& c = local();
  c.connections_open[static_cast<size_t>(k)].add(delta);
  if (delta > 0)
    c.connections_total[static_cast<size_t>(k)].add(delta);
}

/// A connection of `k` refused over a bound ([limits]).
inline void connection_refused(conn_kind k) {
  if (on())
    local().connections_refused[static_cast<size_t>(k)].add();
}

/// An open connection, counted while this object lives (in an actor's
/// state: its destruction at the actor's exit closes it). Moving it
/// moves the count.
class open_connection {
public:
  open_connection() = default;
  void open(conn_kind k) {
    if (counted_ || !on())
      return;
    kind_ = k;
    counted_ = true;
    connection(k, +1);
  }
  void close() {
    if (!counted_)
      return;
    counted_ = false;
    connection(kind_, -1);
  }
  ~open_connection() { close(); }
  open_connection(const open_connection&) = delete;
  open_connection& operator=(const open_connection&) = delete;

private:
  conn_kind kind_ = conn_kind::c2s;
  bool counted_ = false;
};

/// A clock read only when counting is on.
inline std::chrono::steady_clock::time_point now() {
  return on() ? std::chrono::steady_clock::now()
              : std::chrono::steady_clock::time_point{};
}

/// Observes the time since `t0` (from now()) in `h`.
inline void observe_since(histogram& h,
                          std::chrono::steady_clock::time_point t0) {
  if (on())
    h.observe(std::chrono::steady_clock::now() - t0);
}

} // namespace dja::metrics
