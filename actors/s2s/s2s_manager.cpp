// The s2s manager: one outgoing stream actor per (local domain, remote
// domain), opened on demand when the router hands it a stanza for a
// remote domain (or an incoming stream needs a dialback verify), and
// forgotten when the stream asks to close (idle, closed or failed).
// Stanzas reach the stream actor in the order the manager got them; the
// stream queues them while it is being set up.

#include <chrono>
#include <ctime>
#include <map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
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
    self->send(stream_for(local, r.to.domain()), std::move(r));
  }

  void bounce(const msg::route& r, const char* condition) {
    if (errors::is_error(*r.stanza))
      return;
    auto reply = errors::stanza_error(*r.stanza, condition);
    if (auto to = jid::parse(reply->attr_or("to")))
      self->send(ctx->router.shard_for(*to), msg::route{reply, jid{}, *to});
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
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
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
    [self](closing_atom) -> done_atom {
      auto who = self->current_sender();
      if (who)
        self->state.forget(caf::actor_cast<caf::actor_addr>(who));
      return done_atom::value;
    },
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
