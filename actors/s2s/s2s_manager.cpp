// The s2s manager: one outgoing stream actor per (local domain, remote
// domain), opened on demand when the router hands it a stanza for a
// remote domain (or an incoming stream needs a dialback verify), and
// forgotten when the stream asks to close (idle, closed or failed).
// Stanzas reach the stream actor in the order the manager got them; the
// stream queues them while it is being set up.

#include <chrono>
#include <ctime>
#include <map>
#include <optional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "metrics/metrics.hpp"
#include "s2s/s2s.hpp"
#include "s2s/settings.hpp"
#include "s2s/status.hpp"

namespace dja::s2s {

namespace {

struct manager_state {
  static inline const char* name = "s2s.manager";
  caf::event_based_actor* self = nullptr;
  context_ptr ctx;
  /// "local remote" -> the out stream actor.
  std::map<std::string, caf::actor> out;
  /// Authenticated streams (for status), by actor address.
  std::map<caf::actor_addr, std::pair<stream_up, std::string>> up;
  caf::actor status; ///< writes DATA_DIR/s2s_status
  bool stopping = false;

  /// One line per authenticated stream (`djabberd-actors s2s status`).
  std::vector<std::string> status_lines() const {
    std::vector<std::string> lines;
    for (auto& [addr, entry] : up) {
      auto& s = entry.first;
      lines.push_back(std::string{s.incoming ? "in  " : "out "} + s.local
                      + (s.incoming ? " <- " : " -> ") + s.remote + " "
                      + s.method + (s.tls ? " TLS" : " no-TLS") + " since "
                      + entry.second);
    }
    return lines;
  }

  void publish() {
    if (status)
      self->send(status, status_lines());
  }

  caf::actor& stream_for(const std::string& local, const std::string& remote) {
    auto& a = out[local + ' ' + remote];
    if (!a) {
      a = spawn_out_stream(self->system(), ctx, local, remote,
                           caf::actor_cast<caf::actor>(self));
      self->monitor(a);
    }
    return a;
  }

  /// Our domain a stanza comes from: its `from`, else the route's.
  std::string local_of(const msg::route& r) const {
    if (auto f = r.stanza->attr("from"))
      if (auto j = jid::parse(*f))
        return j->domain();
    return r.from.domain();
  }

  void route(msg::route& r) {
    auto local = local_of(r);
    if (ctx->find_vhost(local) == nullptr) {
      // Only our own users' stanzas leave (never relay for others).
      spdlog::warn("s2s: not sending a stanza from {} (not served here) to {}",
                   local, r.to.domain());
      return;
    }
    if (stopping) {
      bounce(r, "remote-server-not-found");
      return;
    }
    auto& stream = stream_for(local, r.to.domain());
    if (is_request(*r.stanza))
      track(r.stanza, stream);
    self->send(stream, std::move(r));
  }

  void bounce(const msg::route& r, const char* condition) {
    bounce(*r.stanza, condition);
  }

  void bounce(const xml::element& stanza, const std::string& condition) {
    if (errors::is_error(stanza))
      return;
    auto reply = errors::stanza_error(stanza, condition);
    if (auto to = jid::parse(reply->attr_or("to")))
      self->send(ctx->router.shard_for(*to), msg::route{reply, jid{}, *to});
  }

  // --- iq get/set in flight to remote entities ---------------------------
  // Every iq get/set a local user sends to a remote JID gets exactly one
  // answer: the remote's (coming back on an incoming stream, through
  // us), or our bounce when the stanza could not be sent or its stream
  // broke and no answer came within the handshake timeout. An answer
  // after our bounce is dropped.

  struct in_flight {
    xml::element_ptr stanza;
    caf::actor_addr stream;
    std::chrono::steady_clock::time_point since;
    std::optional<std::chrono::steady_clock::time_point> deadline;
  };
  std::map<std::string, in_flight> iqs;
  /// Keys bounced recently (a late answer is dropped), with when.
  std::map<std::string, std::chrono::steady_clock::time_point> bounced;
  bool iq_timer = false;

  static std::string norm(const std::string& j) {
    auto p = jid::parse(j);
    return p ? p->str() : j;
  }

  /// (local full JID, id, remote JID) of a request, or of an answer read
  /// the other way round.
  static std::string iq_key(const std::string& local, const std::string& id,
                            const std::string& remote) {
    return norm(local) + '\n' + id + '\n' + norm(remote);
  }

  static bool is_request(const xml::element& e) {
    auto type = e.attr_or("type");
    return e.name == "iq" && (type == "get" || type == "set");
  }

  void track(const xml::element_ptr& e, const caf::actor& stream) {
    auto now = std::chrono::steady_clock::now();
    auto key = iq_key(e->attr_or("from"), e->attr_or("id"), e->attr_or("to"));
    iqs[key] = in_flight{e, stream.address(), now, std::nullopt};
    // Forget what nobody will ever answer (an hour is past any client's
    // patience; the entry only guards against double answers).
    for (auto i = iqs.begin(); i != iqs.end();)
      i = now - i->second.since > std::chrono::hours(1) ? iqs.erase(i)
                                                          : std::next(i);
    for (auto i = bounced.begin(); i != bounced.end();)
      i = now - i->second > std::chrono::hours(1) ? bounced.erase(i)
                                                   : std::next(i);
  }

  void on_undeliverable(const undeliverable& u) {
    if (is_request(*u.stanza)) {
      auto key = iq_key(u.stanza->attr_or("from"), u.stanza->attr_or("id"),
                        u.stanza->attr_or("to"));
      if (iqs.erase(key) == 0)
        return; // answered already
      bounced[key] = std::chrono::steady_clock::now();
    }
    bounce(*u.stanza, u.condition);
  }

  void on_answer(msg::route& r) {
    auto key = iq_key(r.stanza->attr_or("to"), r.stanza->attr_or("id"),
                      r.stanza->attr_or("from"));
    if (bounced.erase(key) > 0) {
      spdlog::debug("s2s: dropped an answer to an iq already bounced");
      return;
    }
    iqs.erase(key);
    self->send(ctx->router.shard_for(r.to), std::move(r));
  }

  /// The stream broke: its iqs get a grace period for their answers.
  void stream_broke(const caf::actor_addr& stream) {
    auto deadline = std::chrono::steady_clock::now()
                    + ctx->s2s_settings->handshake_timeout;
    bool any = false;
    for (auto& [key, f] : iqs)
      if (f.stream == stream && !f.deadline) {
        f.deadline = deadline;
        any = true;
      }
    if (any && !iq_timer) {
      iq_timer = true;
      self->delayed_send(self, std::chrono::seconds(1), iq_timer_atom::value);
    }
  }

  void on_iq_timer() {
    iq_timer = false;
    auto now = std::chrono::steady_clock::now();
    bool waiting = false;
    for (auto i = iqs.begin(); i != iqs.end();) {
      if (i->second.deadline && *i->second.deadline <= now) {
        bounce(*i->second.stanza, "remote-server-timeout");
        bounced[i->first] = now;
        i = iqs.erase(i);
      } else {
        waiting = waiting || i->second.deadline.has_value();
        ++i;
      }
    }
    if (waiting) {
      iq_timer = true;
      self->delayed_send(self, std::chrono::seconds(1), iq_timer_atom::value);
    }
  }

  void forget(const caf::actor_addr& who) {
    for (auto i = out.begin(); i != out.end(); ++i)
      if (i->second.address() == who) {
        out.erase(i);
        break;
      }
  }
};

std::string now_utc() {
  using clock = std::chrono::system_clock;
  auto t = clock::to_time_t(clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

caf::behavior manager(caf::stateful_actor<manager_state>* self,
                      context_ptr ctx, std::string data_dir) {
  self->state.self = self;
  self->state.ctx = std::move(ctx);
  self->state.status = spawn_status_writer(self->system(),
                                           status_path(data_dir));
  self->link_to(self->state.status);
  self->state.publish();
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.reason) // died without closing: its iqs are in the dark
      self->state.stream_broke(dm.source);
    self->state.forget(dm.source);
    if (self->state.up.erase(dm.source) > 0)
      self->state.publish();
  });
  return {
    [self](msg::route& r) { self->state.route(r); },
    [self](verify_request& v) {
      // The out stream answers the in stream directly.
      auto& a = self->state.stream_for(v.local, v.remote);
      self->delegate(a, std::move(v));
    },
    [self](closing_atom, bool broke) -> done_atom {
      auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (who) {
        self->state.forget(who);
        if (broke)
          self->state.stream_broke(who);
      }
      return done_atom::value;
    },
    [self](const undeliverable& u) { self->state.on_undeliverable(u); },
    [self](iq_answer& a) { self->state.on_answer(a.r); },
    [self](iq_timer_atom) { self->state.on_iq_timer(); },
    [self](stream_up& s) {
      auto who = caf::actor_cast<caf::actor>(self->current_sender());
      if (!who)
        return;
      if (s.incoming)
        self->monitor(who);
      self->state.up[who.address()] = {std::move(s), now_utc()};
      self->state.publish();
    },
    [self](status_atom) -> std::vector<std::string> {
      return self->state.status_lines();
    },
    // A scrape (actors/metrics): mailbox depth, authenticated streams in
    // and out.
    [self](metrics::probe_atom) -> caf::result<size_t, size_t, size_t> {
      size_t in = 0;
      for (auto& [_, entry] : self->state.up)
        in += entry.first.incoming ? 1 : 0;
      return {metrics::mailbox_depth(self), in, self->state.up.size() - in};
    },
    [self](shutdown_atom) {
      auto& st = self->state;
      st.stopping = true;
      for (auto& [key, a] : st.out)
        self->send(a, shutdown_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_manager(caf::actor_system& sys, context_ptr ctx,
                         std::string data_dir) {
  return sys.spawn(manager, std::move(ctx), std::move(data_dir));
}

} // namespace dja::s2s
