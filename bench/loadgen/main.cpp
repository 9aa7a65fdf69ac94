// dja-loadgen: an XMPP load generator (login / idle / pairs workloads) for
// any c2s server on the loopback interface. See bench/README.md.
//
// main(): parse the options, start the workers, advance the phases
// (login -> hold | traffic -> drain -> closing -> done) under a hard
// deadline, then merge the workers' statistics into one report.

#include <arpa/inet.h>
#include <csignal>
#include <signal.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "worker.hpp"

using namespace lg;

namespace {

const char* const usage_text =
  "usage: dja-loadgen --users N [--mode login|idle|pairs|muc] [options]\n"
  "  --host 127.0.0.1  --port 5222  --domain localhost  (loopback only)\n"
  "  --ports P1,P2,..  client i connects to port P[i % n] (cluster nodes)\n"
  "  --user-pattern 'user%d'  --password pw  --first 1  --resource lg\n"
  "  --concurrency C   logins in flight at once (100)\n"
  "  --presence | --no-presence   initial presence (default: on in idle/pairs)\n"
  "  --carbons         enable XEP-0280 message carbons after bind\n"
  "  --hold S          idle: seconds to stay connected once all are in (10)\n"
  "  --rate R          pairs: total messages/s, 0 = closed loop (0)\n"
  "  --inflight W      pairs, rate 0: unacknowledged messages per sender (10)\n"
  "  --duration S      pairs: measured seconds (10)\n"
  "  --warmup S        pairs: seconds of traffic before measuring (1)\n"
  "  --drain S         pairs, muc: seconds to wait for messages still due\n"
  "                    after the window (2; muc 10)\n"
  "  --timeout S       hard limit for the whole run (120)\n"
  "  --threads T       epoll threads (1)\n"
  "  --tls             STARTTLS before SASL PLAIN (TLS 1.2+, SNI = --domain,\n"
  "                    the certificate is not verified)\n"
  "  --sm              XEP-0198 stream management on every connection:\n"
  "                    <enable resume='true'/> after bind, <r/> answered\n"
  "  --json            one JSON object on stdout instead of key: value lines\n"
  "MUC mode (XEP-0045; client i joins room i %% rooms as nick user(i)):\n"
  "  --rooms R         rooms PREFIX0 .. PREFIX(R-1) @ the service (1)\n"
  "  --room-prefix P   room name prefix (lgroom)\n"
  "  --muc-service D   the MUC domain (conference.DOMAIN)\n"
  "  --senders M       clients 0..M-1 send groupchat messages (1; 0 = hold)\n"
  "  --join-delay S    seconds between 'LOGGED n' and the joins (0)\n"
  "  --join-concurrency J  joins in flight at once (--concurrency)\n"
  "  --join-timeout S  seconds for a join's own presence (60)\n"
  "  --close-timeout S seconds to wait for the server's close (3; muc 30)\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "dja-loadgen: %s\n%s", msg.c_str(), usage_text);
  std::exit(2);
}

double to_number(const std::string& name, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(d) || d < lo || d > hi)
    usage_error("bad value for --" + name + ": '" + v + "'");
  return d;
}

/// Accepts 127.0.0.0/8, ::1 and "localhost" only (a workplace rule).
void resolve_loopback(options& o) {
  if (o.host == "localhost")
    o.host = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&o.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&o.addr);
  if (inet_pton(AF_INET, o.host.c_str(), &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
      usage_error("--host must be a loopback address (127.0.0.0/8 or ::1)");
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(o.port));
    o.addr_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, o.host.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
      usage_error("--host must be a loopback address (127.0.0.0/8 or ::1)");
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(o.port));
    o.addr_len = sizeof *v6;
  } else {
    usage_error("--host must be a numeric loopback address, not '" + o.host + "'");
  }
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    if (a == "-h" || a == "--help") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0)
      usage_error("unexpected argument '" + a + "'");
    a = a.substr(2);
    if (auto eq = a.find('='); eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a != "presence" && a != "no-presence" && a != "json"
               && a != "tls" && a != "sm" && a != "carbons") {
      if (i + 1 >= argc)
        usage_error("--" + a + " needs a value");
      v = argv[++i];
    }
    auto num = [&](double lo, double hi) { return to_number(a, v, lo, hi); };
    if (a == "host") o.host = v;
    else if (a == "port") o.port = int(num(1, 65535));
    else if (a == "ports") {
      size_t pos = 0;
      while (pos <= v.size()) {
        auto comma = v.find(',', pos);
        auto item = v.substr(pos, comma == std::string::npos ? std::string::npos
                                                            : comma - pos);
        o.ports.push_back(int(to_number(a, item, 1, 65535)));
        if (comma == std::string::npos)
          break;
        pos = comma + 1;
      }
    }
    else if (a == "domain") o.domain = v;
    else if (a == "user-pattern") o.user_pattern = v;
    else if (a == "password") o.password = v;
    else if (a == "resource") o.resource = v;
    else if (a == "first") o.first = long(num(0, 1e12));
    else if (a == "users") o.users = long(num(1, 1e7));
    else if (a == "concurrency") o.concurrency = long(num(1, 1e7));
    else if (a == "presence") o.presence = 1;
    else if (a == "no-presence") o.presence = 0;
    else if (a == "carbons") o.carbons = true;
    else if (a == "hold") o.hold = num(0, 1e6);
    else if (a == "rate") o.rate = num(0, 1e9);
    else if (a == "inflight") o.inflight = long(num(1, 1e6));
    else if (a == "duration") o.duration = num(0.001, 1e6);
    else if (a == "warmup") o.warmup = num(0, 1e6);
    else if (a == "drain") o.drain = num(0, 1e6);
    else if (a == "timeout") o.timeout = num(1, 1e6);
    else if (a == "threads") o.threads = long(num(1, 256));
    else if (a == "json") o.json = true;
    else if (a == "tls") o.tls = true;
    else if (a == "sm") o.sm = true;
    else if (a == "rooms") o.rooms = long(num(1, 1e6));
    else if (a == "room-prefix") o.room_prefix = v;
    else if (a == "muc-service") o.muc_service = v;
    else if (a == "senders") o.senders = long(num(0, 1e7));
    else if (a == "join-delay") o.join_delay = num(0, 1e6);
    else if (a == "join-concurrency") o.join_concurrency = long(num(1, 1e7));
    else if (a == "join-timeout") o.join_timeout = num(1, 1e6);
    else if (a == "close-timeout") o.close_timeout = num(0.1, 1e6);
    else if (a == "mode") {
      if (v == "login") o.run_mode = mode::login;
      else if (v == "idle") o.run_mode = mode::idle;
      else if (v == "pairs") o.run_mode = mode::pairs;
      else if (v == "muc") o.run_mode = mode::muc;
      else usage_error("--mode must be login, idle, pairs or muc");
    } else usage_error("unknown option --" + a);
  }
  if (o.users <= 0)
    usage_error("--users N is required");
  auto p = o.user_pattern.find("%d");
  if (p == std::string::npos || o.user_pattern.find('%', p + 2) != std::string::npos
      || o.user_pattern.find('%') != p)
    usage_error("--user-pattern must contain exactly one %d and no other %");
  if (o.run_mode == mode::pairs && o.users % 2 != 0)
    usage_error("--mode pairs needs an even --users");
  if (o.presence < 0)
    o.presence = o.run_mode != mode::login && o.run_mode != mode::muc;
  if (o.drain < 0)
    o.drain = o.run_mode == mode::muc ? 10 : 2;
  if (o.run_mode == mode::muc) {
    if (o.muc_service.empty())
      o.muc_service = "conference." + o.domain;
    if (o.rooms > o.users)
      usage_error("--rooms must not exceed --users (a room needs an occupant)");
    o.senders = std::min(o.senders, o.users);
    bool close_given = false;
    for (int i = 1; i < argc; ++i)
      close_given |= std::string(argv[i]).rfind("--close-timeout", 0) == 0;
    if (!close_given) // leaving a big room broadcasts to all who remain
      o.close_timeout = 30;
  }
  o.threads = std::min(o.threads, std::max(1L, o.users / 2));
  resolve_loopback(o);
  return o;
}

void raise_fd_limit(long needed) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && rlim_t(needed) > rl.rlim_cur)
    usage_error("needs " + std::to_string(needed) + " file descriptors, the limit is "
                + std::to_string(rl.rlim_cur));
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void sleep_ms(long ms) {
  timespec ts{0, ms * 1'000'000};
  nanosleep(&ts, nullptr);
}

volatile std::sig_atomic_t stop_requested = 0;

volatile std::sig_atomic_t stop_at = 0; // CLOCK_MONOTONIC s of the first

extern "C" void on_stop(int) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts); // async-signal-safe
  // A second signal a moment later: do not wait for the clean close. One
  // within 2 s is the same request twice (timeout(1) signals its child and
  // then its process group, which holds the child too).
  if (stop_requested && ts.tv_sec - stop_at >= 2)
    _exit(1);
  if (!stop_requested)
    stop_at = std::sig_atomic_t(ts.tv_sec);
  stop_requested = 1;
}

extern "C" void on_alarm(int) {
  static const char msg[] = "dja-loadgen: hard --timeout reached, exiting\n";
  [[maybe_unused]] auto r = ::write(2, msg, sizeof msg - 1);
  _exit(1);
}

constexpr int64_t sec = 1'000'000'000;

struct run_result {
  bool timed_out = false, interrupted = false;
  int64_t start = 0, end = 0;
  double cpu_measure_start = 0, cpu_measure_end = 0;
};

/// The coordinator: advances the phases, bounded by the deadline.
run_result coordinate(shared_state& sh, const options& o, int64_t start) {
  run_result r;
  r.start = start;
  const int64_t deadline = r.start + int64_t(o.timeout * 1e9) - 300'000'000;
  const auto n = uint64_t(o.users);
  int64_t until = 0, join_at = -1;
  auto go = [&](phase p) { sh.current.store(p, std::memory_order_release); };
  const int64_t close_wait = int64_t((o.close_timeout + 2) * 1e9);
  auto start_traffic = [&](int64_t now) {
    sh.traffic_start = now;
    sh.measure_start = now + int64_t(o.warmup * 1e9);
    sh.measure_end = sh.measure_start + int64_t(o.duration * 1e9);
    go(phase::traffic);
  };
  auto ready = [&](uint64_t k, int64_t now) {
    std::fprintf(stderr, "READY %llu\n", static_cast<unsigned long long>(k));
    std::fflush(stderr);
    until = now + int64_t(o.hold * 1e9);
    go(phase::hold);
  };
  for (phase p = phase::login; p != phase::done; p = sh.current.load()) {
    sleep_ms(1);
    int64_t now = now_ns();
    if (now >= deadline) {
      r.timed_out = true;
      go(phase::done);
      break;
    }
    if (stop_requested && !r.interrupted) { // SIGINT/SIGTERM: close cleanly
      r.interrupted = true;
      if (p < phase::closing) {
        if (p == phase::traffic)
          r.cpu_measure_end = cpu_seconds();
        until = now + close_wait;
        go(phase::closing);
        continue;
      }
    }
    switch (p) {
    case phase::login:
      if (sh.logins_finished.load(std::memory_order_acquire) < n)
        break;
      if (o.run_mode == mode::idle) {
        ready(sh.logins_ok.load(), now);
      } else if (o.run_mode == mode::pairs) {
        start_traffic(now);
      } else if (o.run_mode == mode::muc) {
        if (join_at < 0) {
          std::fprintf(stderr, "LOGGED %llu\n",
                       static_cast<unsigned long long>(sh.logins_ok.load()));
          std::fflush(stderr);
          join_at = now + int64_t(o.join_delay * 1e9);
        }
        if (now >= join_at)
          go(phase::create);
      } else {
        until = now + 5 * sec; // clients close themselves after bind
        go(phase::closing);
      }
      break;
    case phase::create:
      if (sh.rooms_finished.load(std::memory_order_acquire) >= uint64_t(o.rooms))
        go(phase::join);
      break;
    case phase::join:
      if (sh.joins_finished.load(std::memory_order_acquire) < n)
        break;
      if (o.senders > 0) {
        std::fprintf(stderr, "JOINED %llu\n",
                     static_cast<unsigned long long>(sh.joins_ok.load()));
        std::fflush(stderr);
        start_traffic(now);
      } else {
        ready(sh.joins_ok.load(), now);
      }
      break;
    case phase::hold:
      if (now >= until) {
        until = now + close_wait;
        go(phase::closing);
      }
      break;
    case phase::traffic:
      if (r.cpu_measure_start == 0 && now >= sh.measure_start)
        r.cpu_measure_start = cpu_seconds();
      if (now >= sh.measure_end) {
        r.cpu_measure_end = cpu_seconds();
        until = now + int64_t(o.drain * 1e9);
        go(phase::drain);
      }
      break;
    case phase::drain:
      if (sh.received.load() >= sh.expected.load() || now >= until) {
        until = now + close_wait;
        go(phase::closing);
      }
      break;
    case phase::closing:
      if (sh.open.load() == 0 || now >= until)
        go(phase::done);
      break;
    case phase::done:
      break;
    }
  }
  r.end = now_ns();
  return r;
}

class report {
public:
  explicit report(bool json) : json_(json) {}
  void str(const char* key, const std::string& v) { add(key, v, true); }
  void num(const char* key, double v, int decimals = 3) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    add(key, b, false);
  }
  void count(const char* key, uint64_t v) { add(key, std::to_string(v), false); }
  void print() const {
    if (!json_) {
      for (auto& [k, v, s] : items_)
        std::printf("%s: %s\n", k.c_str(), v.c_str());
      return;
    }
    std::string out = "{";
    for (auto& [k, v, s] : items_)
      out += (out.size() > 1 ? ", \"" : "\"") + k + "\": " + (s ? "\"" + v + "\"" : v);
    std::printf("%s}\n", out.c_str());
  }

private:
  void add(std::string k, std::string v, bool s) { items_.push_back({k, v, s}); }
  struct item {
    std::string key, value;
    bool is_string;
  };
  std::vector<item> items_;
  bool json_;
};

double ms(uint64_t ns) { return double(ns) / 1e6; }

} // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  raise_fd_limit(o.users + 64 + 4 * o.threads);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGALRM, on_alarm);
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  alarm(unsigned(std::ceil(o.timeout)));

  shared_state sh(o);
  if (o.run_mode == mode::muc) {
    auto r = size_t(o.rooms);
    sh.room_state = std::make_unique<std::atomic<int>[]>(r);
    sh.room_members = std::make_unique<std::atomic<uint64_t>[]>(r);
    sh.room_sent = std::make_unique<std::atomic<uint64_t>[]>(r);
    for (size_t k = 0; k < r; ++k) {
      sh.room_state[k] = 0;
      sh.room_members[k] = 0;
      sh.room_sent[k] = 0;
    }
  }
  if (o.tls) {
    sh.tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!sh.tls_ctx) {
      std::fprintf(stderr, "dja-loadgen: SSL_CTX_new failed\n");
      return 1;
    }
    SSL_CTX_set_min_proto_version(sh.tls_ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(sh.tls_ctx, SSL_VERIFY_NONE, nullptr);
    // SSL_write's buffer is the client's out string, which may grow (move)
    // between a WANT_WRITE and the retry; a close without close_notify is
    // an ordinary end of stream here.
    SSL_CTX_set_mode(sh.tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                                   | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(sh.tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  }
  // Whole pairs (2p, 2p+1) go to worker p % T.
  std::vector<std::vector<long>> slices(size_t(o.threads));
  for (long i = 0; i < o.users; ++i)
    slices[size_t((i / 2) % o.threads)].push_back(i);
  long quota = (o.concurrency + o.threads - 1) / o.threads;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::thread> threads;
  for (auto& s : slices)
    workers.push_back(std::make_unique<worker>(sh, std::move(s), quota));
  int64_t start = now_ns();
  for (auto& w : workers)
    threads.emplace_back([&w] { w->run(); });
  run_result r = coordinate(sh, o, start);
  for (auto& t : threads)
    t.join();

  worker_stats st;
  muc_tally tally;
  for (auto& w : workers) {
    auto& s = w->stats;
    if (o.run_mode == mode::muc)
      w->tally(tally);
    st.login_latency.merge(s.login_latency);
    st.msg_latency.merge(s.msg_latency);
    st.join_latency.merge(s.join_latency);
    st.echoes_measured += s.echoes_measured;
    st.presences += s.presences;
    if (s.first_join && (!st.first_join || s.first_join < st.first_join))
      st.first_join = s.first_join;
    st.last_join = std::max(st.last_join, s.last_join);
    for (int k = 0; k < err_kinds; ++k)
      st.errors[k] += s.errors[k];
    st.sent += s.sent;
    st.received += s.received;
    st.measured += s.measured;
    st.out_of_order += s.out_of_order;
    st.other_stanzas += s.other_stanzas;
    st.sm_enabled += s.sm_enabled;
    st.sm_requests += s.sm_requests;
    st.sm_acks += s.sm_acks;
    if (s.first_connect && (!st.first_connect || s.first_connect < st.first_connect))
      st.first_connect = s.first_connect;
    st.last_bind = std::max(st.last_bind, s.last_bind);
  }
  uint64_t unfinished = uint64_t(o.users) - sh.logins_finished.load();
  st.errors[err_timeout] += unfinished;
  uint64_t errors = 0;
  for (auto e : st.errors)
    errors += e;
  uint64_t logins = sh.logins_ok.load();
  double login_wall = double(st.last_bind - st.first_connect) / 1e9;
  double wall = double(r.end - r.start) / 1e9, cpu = cpu_seconds();
  const char* modes[] = {"login", "idle", "pairs", "muc"};

  report rep(o.json);
  rep.str("mode", modes[int(o.run_mode)]);
  rep.count("users", uint64_t(o.users));
  rep.count("threads", uint64_t(o.threads));
  rep.count("tls", o.tls ? 1 : 0);
  rep.count("sm", o.sm ? 1 : 0);
  rep.count("concurrency", uint64_t(o.concurrency));
  rep.count("logins_done", logins);
  rep.count("logins_failed", uint64_t(o.users) - logins);
  rep.num("login_wall_s", logins ? login_wall : 0);
  rep.num("logins_per_sec", logins && login_wall > 0 ? double(logins) / login_wall : 0, 1);
  rep.num("login_latency_ms_p50", ms(st.login_latency.percentile(50)));
  rep.num("login_latency_ms_p95", ms(st.login_latency.percentile(95)));
  rep.num("login_latency_ms_p99", ms(st.login_latency.percentile(99)));
  rep.num("login_latency_ms_max", ms(st.login_latency.max()));
  if (o.run_mode == mode::idle)
    rep.num("hold_s", o.hold, 1);
  uint64_t lost = 0;
  if (o.run_mode == mode::pairs) {
    lost = st.sent > st.received ? st.sent - st.received : 0;
    rep.num("rate_target", o.rate, 1);
    if (o.rate <= 0)
      rep.count("inflight", uint64_t(o.inflight));
    rep.num("duration_s", o.duration);
    rep.num("messages_per_sec", double(st.measured) / o.duration, 1);
    rep.num("latency_ms_p50", ms(st.msg_latency.percentile(50)));
    rep.num("latency_ms_p95", ms(st.msg_latency.percentile(95)));
    rep.num("latency_ms_p99", ms(st.msg_latency.percentile(99)));
    rep.num("latency_ms_max", ms(st.msg_latency.max()));
    rep.count("messages_measured", st.measured);
    rep.count("messages_sent", st.sent);
    rep.count("messages_received", st.received);
    rep.count("messages_lost", lost);
    rep.count("messages_out_of_order", st.out_of_order);
  }
  if (o.run_mode == mode::muc) {
    uint64_t joins = sh.joins_ok.load();
    double join_wall = double(st.last_join - st.first_join) / 1e9;
    lost = tally.missing;
    rep.count("rooms", uint64_t(o.rooms));
    rep.count("senders", uint64_t(o.senders));
    rep.count("occupants_joined", joins);
    rep.count("joins_failed", uint64_t(o.users) - joins);
    rep.num("join_wall_s", joins ? join_wall : 0);
    rep.num("joins_per_sec", joins && join_wall > 0 ? double(joins) / join_wall : 0, 1);
    rep.num("join_latency_ms_p50", ms(st.join_latency.percentile(50)));
    rep.num("join_latency_ms_p99", ms(st.join_latency.percentile(99)));
    rep.num("join_latency_ms_max", ms(st.join_latency.max()));
    if (o.senders > 0) {
      rep.num("rate_target", o.rate, 1);
      if (o.rate <= 0)
        rep.count("inflight", uint64_t(o.inflight));
      rep.num("duration_s", o.duration);
      // messages whose sender saw its own copy in the window, and every
      // copy any occupant received in it (the fan-out)
      rep.num("messages_per_sec", double(st.echoes_measured) / o.duration, 1);
      rep.num("deliveries_per_sec", double(st.measured) / o.duration, 1);
      rep.num("latency_ms_p50", ms(st.msg_latency.percentile(50)));
      rep.num("latency_ms_p95", ms(st.msg_latency.percentile(95)));
      rep.num("latency_ms_p99", ms(st.msg_latency.percentile(99)));
      rep.num("latency_ms_max", ms(st.msg_latency.max()));
    } else {
      rep.num("hold_s", o.hold, 1);
    }
    rep.count("messages_sent", st.sent);
    rep.count("deliveries_expected", sh.expected.load());
    rep.count("deliveries_received", st.received);
    rep.count("deliveries_missing", tally.missing);
    rep.count("deliveries_extra", tally.extra);
    rep.count("occupants_short", tally.short_occupants);
    rep.count("presences_received", st.presences);
  }
  if (o.sm) {
    rep.count("sm_enabled", st.sm_enabled);
    rep.count("sm_requests_answered", st.sm_requests);
    rep.count("sm_acks_received", st.sm_acks);
  }
  rep.count("other_stanzas", st.other_stanzas);
  rep.count("errors", errors);
  for (int k = 0; k < err_kinds; ++k) {
    std::string key = std::string("errors_") + err_names[k];
    rep.count(key.c_str(), st.errors[k]);
  }
  rep.count("timed_out", r.timed_out ? 1 : 0);
  rep.count("interrupted", r.interrupted ? 1 : 0);
  rep.num("wall_s", wall);
  rep.num("cpu_s", cpu);
  rep.num("cpu_pct", wall > 0 ? 100.0 * cpu / wall : 0, 1);
  if (o.run_mode == mode::pairs && r.cpu_measure_end > 0)
    rep.num("cpu_pct_measured",
            100.0 * (r.cpu_measure_end - r.cpu_measure_start) / o.duration, 1);
  rep.print();
  std::fflush(stdout);
  if (sh.tls_ctx)
    SSL_CTX_free(sh.tls_ctx);
  return errors == 0 && lost == 0 && !r.timed_out ? 0 : 1;
}
