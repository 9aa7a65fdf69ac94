#pragma once

// The metrics actor: what `GET /metrics` and `GET /health` answer
// (docs/metrics.md). It is registered in CAF's actor registry under the
// name "metrics" (metrics::find), so that whoever serves HTTP, the
// control channel (`djabberd-actors ctl metrics`) or a test asks it
// without knowing where it was spawned:
//
//   (scrape_atom) -> std::string
//        the Prometheus text exposition 0.0.4 (content_type in
//        exposition.hpp): the counters of every thread (cells.hpp), the
//        per-plugin series of every vhost (hook_series.hpp), what the hot
//        actors answer to probe_atom, and the process metrics. Answered
//        within about a second: an actor that does not answer its probe
//        in probe_timeout is reported down (dja_actor_up 0), not waited
//        for.
//   (health_atom) -> (bool healthy, std::string reason)
//        true and "ok" when every router shard and vhost answered its
//        probe within probe_timeout; false and which did not, otherwise
//        (HTTP: 200 or 503 with the reason as the body).
//
// The hot actors (router shards, vhosts, the s2s manager, the cluster
// node) answer probe_atom, sent with high priority so that it overtakes
// their backlog: their mailbox depth and the few gauges only they know.
//
//   router shard:  (probe_atom) -> (size_t mailbox, size_t users,
//                                   size_t sessions)
//   vhost:         (probe_atom) -> size_t mailbox
//   s2s manager:   (probe_atom) -> (size_t mailbox, size_t streams_in,
//                                   size_t streams_out)
//   cluster node:  (probe_atom) -> (size_t mailbox, size_t links)

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace dja::metrics {

using scrape_atom = caf::atom_constant<caf::atom("scrape")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using probe_atom = caf::atom_constant<caf::atom("mprobe")>;

/// The actor registry name of the metrics actor.
constexpr caf::atom_value registry_name = caf::atom("metrics");

/// How long a scrape waits for a hot actor's probe.
constexpr auto probe_timeout = std::chrono::seconds(1);

/// The actors a scrape probes.
struct sources {
  std::vector<caf::actor> router_shards;
  std::vector<std::pair<std::string, caf::actor>> vhosts; ///< domain, actor
  caf::actor s2s;     ///< the s2s manager; null: no federation
  caf::actor cluster; ///< the cluster node; null: not clustered
};

/// Spawns the metrics actor and registers it as registry_name.
caf::actor start(caf::actor_system& sys, sources s);

/// The registered metrics actor; null before start().
caf::actor find(caf::actor_system& sys);

/// The mailbox depth of the calling actor (`self` in a handler of
/// probe_atom: the messages waiting behind the probe).
template <class Self>
size_t mailbox_depth(Self* self) {
  return self->mailbox().size();
}

} // namespace dja::metrics
