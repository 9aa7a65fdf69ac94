#pragma once

// GET /metrics and GET /health on an `http` listener (docs/web.md,
// docs/metrics.md): a route handler that asks the metrics actor.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace dja::metrics {

/// The handler of the `/metrics` and `/health` routes: the Prometheus
/// text (200, or 503 when the metrics actor does not answer) and the
/// health verdict (200 "ok", or 503 with the reason: a router shard or
/// vhost that did not answer its probe).
caf::actor spawn_http_routes(caf::actor_system& sys);

} // namespace dja::metrics
