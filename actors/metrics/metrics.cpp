// The metrics actor (metrics.hpp): a scrape probes the hot actors (with
// high priority, each wait bounded), then writes the exposition.

#include "metrics/metrics.hpp"

#include <memory>

#include <caf/all.hpp>

#include "metrics/snapshot.hpp"

namespace dja::metrics {

namespace {

/// One scrape or health check in progress: answered when every probe
/// has answered or failed.
struct job {
  caf::response_promise rp;
  bool health = false;
  size_t pending = 0;
  probes p;

  void done() {
    if (--pending > 0)
      return;
    if (health) {
      std::string why;
      for (auto& a : p.actors)
        if (!a.up && (a.kind == "router_shard" || a.kind == "vhost"))
          why += (why.empty() ? "" : ", ") + a.kind + " " + a.id;
      if (why.empty())
        rp.deliver(true, std::string{"ok"});
      else
        rp.deliver(false, "no answer within 1 s from " + why);
      return;
    }
    exposition out;
    write_all(out, p);
    rp.deliver(out.take());
  }
};

using job_ptr = std::shared_ptr<job>;

struct metrics_state {
  static inline const char* name = "metrics";
  sources src;
};

using self_t = caf::stateful_actor<metrics_state>;

/// Asks `dest` with high priority; `f` gets the answer's values, the
/// probe entry `i` is marked up; a failure leaves it down.
template <class... Ts, class F>
void probe(self_t* self, const caf::actor& dest, const job_ptr& j, size_t i,
           F f) {
  self
    ->request<caf::message_priority::high>(dest, probe_timeout,
                                           probe_atom::value)
    .then(
      [j, i, f](Ts... xs) {
        j->p.actors[i].up = true;
        f(j->p.actors[i], xs...);
        j->done();
      },
      [j](caf::error&) { j->done(); });
}

void run(self_t* self, const job_ptr& j) {
  auto& src = self->state.src;
  auto& acts = j->p.actors;
  // Reserved up front: the handlers index into it.
  acts.reserve(src.router_shards.size() + src.vhosts.size() + 2);
  j->pending = 1; // released below, once every probe is out
  for (size_t n = 0; n < src.router_shards.size(); ++n) {
    acts.push_back({"router_shard", std::to_string(n), false, 0});
    ++j->pending;
    probe<size_t, size_t, size_t>(
      self, src.router_shards[n], j, acts.size() - 1,
      [j](probes::actor& a, size_t mailbox, size_t users, size_t sessions) {
        a.mailbox = mailbox;
        j->p.users += users;
        j->p.sessions += sessions;
      });
  }
  for (auto& [domain, v] : src.vhosts) {
    acts.push_back({"vhost", domain, false, 0});
    ++j->pending;
    probe<size_t>(self, v, j, acts.size() - 1,
                  [](probes::actor& a, size_t mailbox) { a.mailbox = mailbox; });
  }
  if (src.s2s) {
    acts.push_back({"s2s_manager", "0", false, 0});
    j->p.s2s_streams.emplace(0, 0);
    ++j->pending;
    probe<size_t, size_t, size_t>(
      self, src.s2s, j, acts.size() - 1,
      [j](probes::actor& a, size_t mailbox, size_t in, size_t out) {
        a.mailbox = mailbox;
        j->p.s2s_streams.emplace(in, out);
      });
  }
  if (src.cluster) {
    acts.push_back({"cluster_node", "0", false, 0});
    j->p.cluster_links.emplace(0);
    ++j->pending;
    probe<size_t, size_t>(self, src.cluster, j, acts.size() - 1,
                          [j](probes::actor& a, size_t mailbox, size_t links) {
                            a.mailbox = mailbox;
                            j->p.cluster_links = links;
                          });
  }
  j->done();
}

caf::behavior metrics_actor(self_t* self, sources src) {
  self->state.src = std::move(src);
  return {
    [self](scrape_atom) -> caf::result<std::string> {
      auto j = std::make_shared<job>();
      j->rp = self->make_response_promise();
      run(self, j);
      return j->rp;
    },
    [self](health_atom) -> caf::result<bool, std::string> {
      auto j = std::make_shared<job>();
      j->health = true;
      j->rp = self->make_response_promise();
      run(self, j);
      return j->rp;
    },
  };
}

} // namespace

caf::actor start(caf::actor_system& sys, sources s) {
  auto a = sys.spawn(metrics_actor, std::move(s));
  sys.registry().put(registry_name, a);
  return a;
}

caf::actor find(caf::actor_system& sys) {
  return sys.registry().get<caf::actor>(registry_name);
}

} // namespace dja::metrics
