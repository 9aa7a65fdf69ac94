// The worker's event loop and the workloads: what a client does once bound
// (close at once, stay idle, or exchange timestamped messages with its peer),
// and how the worker follows the coordinator's phases.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "worker.hpp"

namespace lg {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string options::user(long i) const {
  auto p = user_pattern.find("%d");
  return user_pattern.substr(0, p) + std::to_string(first + i)
         + user_pattern.substr(p + 2);
}

worker::worker(shared_state& sh, std::vector<long> indices, long login_quota)
  : sh_(sh), opt_(sh.opt), clients_(indices.size()), login_quota_(login_quota) {
  if (opt_.join_concurrency > 0) // the same share of it as of the logins
    join_quota_ = std::max(1L, (opt_.join_concurrency + opt_.threads - 1) / opt_.threads);
  else
    join_quota_ = login_quota;
  for (size_t k = 0; k < indices.size(); ++k) {
    clients_[k].index = indices[k];
    // Indices come in pairs (2p, 2p+1), so a client's peer is its neighbour.
    if (opt_.run_mode == mode::pairs && (k ^ 1) < indices.size())
      clients_[k].peer = &clients_[k ^ 1];
  }
}

/// epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11), so the
/// paced schedule costs no timer syscalls; falls back to milliseconds.
static int wait_events(int ep, epoll_event* evs, int max, int64_t timeout_ns) {
  static thread_local bool have_pwait2 = true;
  if (have_pwait2) {
    timespec ts{time_t(timeout_ns / 1'000'000'000), long(timeout_ns % 1'000'000'000)};
    int n = ::epoll_pwait2(ep, evs, max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS)
      return n;
    have_pwait2 = false;
  }
  return ::epoll_wait(ep, evs, max, int((timeout_ns + 999'999) / 1'000'000));
}

void worker::run() {
  ::prctl(PR_SET_TIMERSLACK, 1UL); // precise pacing wake-ups
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    std::perror("dja-loadgen: epoll_create1");
    std::exit(1);
  }
  epoll_event evs[512];
  int64_t next_check = 0;
  for (;;) {
    phase p = sh_.current.load(std::memory_order_acquire);
    if (p != phase_) {
      phase_ = p;
      on_phase(p);
      if (p == phase::done)
        break;
    }
    while (phase_ == phase::login && logins_in_flight_ < login_quota_
           && next_start_ < clients_.size())
      start_connect(clients_[next_start_++]);
    while ((phase_ == phase::create || phase_ == phase::join)
           && joins_in_flight_ < join_quota_ && next_join_ < joins_.size())
      start_join(*joins_[next_join_++]);
    flush();
    int64_t timeout = 5'000'000; // ns; phases are polled at this period
    if (next_pace_ > 0)
      timeout = std::clamp<int64_t>(next_pace_ - now_ns(), 0, timeout);
    int n = wait_events(ep_, evs, 512, timeout);
    for (int i = 0; i < n; ++i)
      on_event(*static_cast<client*>(evs[i].data.ptr), evs[i].events);
    int64_t now = now_ns();
    if (next_pace_ > 0 && now >= next_pace_)
      pace();
    flush();
    if (now >= next_check) {
      check_deadlines(now);
      next_check = now + 100'000'000;
    }
  }
  ::close(ep_);
}

void worker::on_phase(phase p) {
  switch (p) {
  case phase::create:
  case phase::join:
    on_muc_phase(p);
    break;
  case phase::traffic:
    if (opt_.rate > 0) {
      for (auto& c : clients_)
        if (c.peer || muc_sender(c))
          senders_.push_back(&c);
      if (senders_.empty())
        return;
      // Each of the opt.users senders (muc: opt.senders) sends rate/users
      // messages per second; this worker's senders take turns on one
      // evenly spaced schedule.
      double all = double(opt_.run_mode == mode::muc ? opt_.senders : opt_.users);
      pace_interval_ = 1e9 * all / (opt_.rate * double(senders_.size()));
      next_pace_ = sh_.traffic_start;
    } else {
      for (auto& c : clients_)
        pump(c);
    }
    break;
  case phase::closing:
    for (auto& c : clients_)
      begin_close(c);
    break;
  case phase::done: // the coordinator gave up waiting: drop the rest
    for (auto& c : clients_)
      close_fd(c);
    break;
  default:
    break;
  }
}

void worker::on_bound(client& c) {
  int64_t now = now_ns();
  finish_login(c, true);
  stats.login_latency.add(uint64_t(now - c.t_connect));
  stats.last_bind = std::max(stats.last_bind, now);
  c.state = cstate::online;
  if (opt_.sm)
    send(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
  if (opt_.carbons) // the answer is counted as another stanza
    send(c, "<iq type='set' id='lg-cb'><enable xmlns='urn:xmpp:carbons:2'/>"
            "</iq>");
  if (opt_.presence)
    send(c, "<presence/>");
  if (opt_.run_mode == mode::login)
    begin_close(c);
}

void worker::send_message(client& from, int64_t stamp) {
  char body[48];
  int n = std::snprintf(body, sizeof body, "%lld %llu", static_cast<long long>(stamp),
                        static_cast<unsigned long long>(from.next_seq++));
  send(from, "<message to='");
  send(from, from.peer->jid);
  send(from, "' type='chat'><body>");
  send(from, std::string_view(body, size_t(n)));
  send(from, "</body></message>");
  ++from.inflight;
  ++stats.sent;
  sh_.expected.fetch_add(1, std::memory_order_relaxed);
  sh_.sent.fetch_add(1, std::memory_order_relaxed);
}

bool worker::can_send(const client& s) const {
  if (opt_.run_mode == mode::muc)
    return muc_sender(s);
  return s.peer && s.state == cstate::online && s.peer->state == cstate::online;
}

void worker::send_one(client& s, int64_t stamp) {
  if (opt_.run_mode == mode::muc)
    send_groupchat(s, stamp);
  else
    send_message(s, stamp);
}

void worker::pump(client& s) {
  if (phase_ != phase::traffic || !can_send(s))
    return;
  int64_t now = now_ns();
  if (now >= sh_.measure_end)
    return;
  while (s.inflight < opt_.inflight)
    send_one(s, now);
}

void worker::pace() {
  next_pace_ = 0;
  if (phase_ != phase::traffic || senders_.empty())
    return;
  int64_t now = now_ns();
  for (;;) {
    // Stamp = scheduled time, so a late send shows up as latency
    // (no coordinated omission).
    int64_t at = sh_.traffic_start + int64_t(double(paced_) * pace_interval_);
    if (at >= sh_.measure_end)
      return;
    if (at > now) {
      next_pace_ = at;
      return;
    }
    client& s = *senders_[paced_ % senders_.size()];
    ++paced_;
    if (can_send(s))
      send_one(s, at);
  }
}

void worker::on_message(client& c) {
  auto head = c.in.head();
  if (attr(head, "type") == "error")
    return log_error(c, err_message, c.in.stanza());
  client* sender = c.peer;
  auto body = child_text(c.in.stanza(), "body");
  auto sp = body.find(' ');
  long long stamp = 0;
  unsigned long long seq = 0;
  if (!sender || attr(head, "from") != sender->jid || sp == std::string_view::npos
      || std::from_chars(body.data(), body.data() + sp, stamp).ec != std::errc()
      || std::from_chars(body.data() + sp + 1, body.data() + body.size(), seq).ec
           != std::errc()) {
    ++stats.other_stanzas; // not one of ours
    return;
  }
  int64_t now = now_ns();
  if (now >= sh_.measure_start && now < sh_.measure_end) {
    stats.msg_latency.add(uint64_t(std::max<int64_t>(0, now - stamp)));
    ++stats.measured;
  }
  ++stats.received;
  sh_.received.fetch_add(1, std::memory_order_relaxed);
  if (seq != c.expect_seq)
    ++stats.out_of_order;
  c.expect_seq = seq + 1;
  if (sender->inflight > 0)
    --sender->inflight;
  if (opt_.rate <= 0)
    pump(*sender);
}

} // namespace lg
