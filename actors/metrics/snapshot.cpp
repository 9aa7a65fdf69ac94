// The exposition of one scrape (snapshot.hpp): every thread's cells
// added up, the vhosts' per-plugin series, the probes, the process.

#include "metrics/snapshot.hpp"

#include <array>
#include <string>

#include "metrics/cells.hpp"
#include "metrics/hook_series.hpp"
#include "metrics/process.hpp"

namespace dja::metrics {

namespace {

using type = exposition::type;

/// The thread cells added up.
struct totals {
  std::array<int64_t, conn_kinds> open{}, accepted{}, refused{};
  std::array<std::array<std::array<int64_t, stanza_kinds>, 2>, stream_kinds>
    stanzas{};
  int64_t bound = 0, replaced = 0, bind_refused = 0;
  histogram_sum route;
};

totals add_up() {
  totals t;
  for_each_thread([&](const thread_cells& c) {
    for (size_t k = 0; k < conn_kinds; ++k) {
      t.open[k] += c.connections_open[k].get();
      t.accepted[k] += c.connections_total[k].get();
      t.refused[k] += c.connections_refused[k].get();
    }
    for (size_t s = 0; s < stream_kinds; ++s)
      for (size_t d = 0; d < 2; ++d)
        for (size_t k = 0; k < stanza_kinds; ++k)
          t.stanzas[s][d][k] += c.stanzas[s][d][k].get();
    t.bound += c.sessions_bound_total.get();
    t.replaced += c.sessions_replaced_total.get();
    t.bind_refused += c.sessions_refused_total.get();
    t.route.add(c.route_duration);
  });
  return t;
}

void write_connections(exposition& out, const totals& t) {
  auto each = [&](const std::array<int64_t, conn_kinds>& v) {
    for (size_t k = 0; k < conn_kinds; ++k)
      out.sample({{"kind", name_of(static_cast<conn_kind>(k))}}, v[k]);
  };
  out.family("dja_connections", type::gauge,
             "Open connections by kind (c2s, c2s_tls, websocket: clients; "
             "s2s_in, s2s_out: federation; component: XEP-0114).");
  each(t.open);
  out.family("dja_connections_accepted_total", type::counter,
             "Connections accepted (s2s_out: established) by kind.");
  each(t.accepted);
  out.family("dja_connections_refused_total", type::counter,
             "Connections refused at accept over [limits] max_connections "
             "or max_connections_per_address, by kind.");
  each(t.refused);
}

void write_sessions(exposition& out, const totals& t, const probes& p) {
  out.family("dja_sessions", type::gauge,
             "Bound resources (c2s sessions, detached XEP-0198 ones "
             "included) on this node.");
  out.sample({}, static_cast<int64_t>(p.sessions));
  out.family("dja_users_online", type::gauge,
             "Accounts with at least one bound resource on this node.");
  out.sample({}, static_cast<int64_t>(p.users));
  out.family("dja_sessions_bound_total", type::counter,
             "Resource binds accepted (RFC 6120 section 7).");
  out.sample({}, t.bound);
  out.family("dja_sessions_replaced_total", type::counter,
             "Sessions replaced by a newer bind of the same full JID "
             "(<conflict/>).");
  out.sample({}, t.replaced);
  out.family("dja_sessions_refused_total", type::counter,
             "Binds refused over [limits] max_resources.");
  out.sample({}, t.bind_refused);
}

void write_stanzas(exposition& out, const totals& t) {
  out.family("dja_stanzas_total", type::counter,
             "Stanzas read from (in) and written to (out) streams, by "
             "stream and kind.");
  for (size_t s = 0; s < stream_kinds; ++s)
    for (size_t d = 0; d < 2; ++d)
      for (size_t k = 0; k < stanza_kinds; ++k)
        out.sample({{"stream", name_of(static_cast<stream_kind>(s))},
                    {"direction", d == 0 ? "in" : "out"},
                    {"kind", name_of(static_cast<stanza_kind>(k))}},
                   t.stanzas[s][d][k]);
  out.family("dja_route_duration_seconds", type::histogram,
             "Time a router shard takes to route one stanza: from taking "
             "it from its mailbox to handing it on (a session, a service, "
             "s2s, the cluster, a bounce; offline delivery until the "
             "deliver chain answered).");
  out.sample({}, t.route);
}

void write_hooks(exposition& out) {
  // Each family needs every vhost's samples together: one pass each.
  struct counter_family {
    const char* name;
    const char* help;
    const counter hook_series::*field;
  };
  static const counter_family counters[] = {
    {"dja_hook_calls_total",
     "Hook requests (and notifications) a vhost sent to a plugin.",
     &hook_series::calls},
    {"dja_hook_declines_total",
     "Hook requests a plugin declined (the chain went on).",
     &hook_series::declines},
    {"dja_hook_errors_total",
     "Hook requests that failed: an error answer, the plugin died, or it "
     "was down waiting for its restart.",
     &hook_series::errors},
    {"dja_hook_timeouts_total",
     "Hook requests a plugin did not answer within its timeout_ms.",
     &hook_series::timeouts},
  };
  for (auto& f : counters) {
    out.family(f.name, type::counter, f.help);
    for_each_vhost([&](const vhost_series& v) {
      for (auto& p : v.plugins())
        for (auto& h : p->hooks)
          out.sample({{"vhost", v.vhost()},
                      {"plugin", p->plugin},
                      {"hook", h->hook}},
                     ((*h).*(f.field)).get());
    });
  }
  out.family("dja_hook_duration_seconds", type::histogram,
             "Time from a hook request to a plugin until its answer "
             "(declines, errors and timeouts included). For a storage "
             "plugin this is the store's latency as the server sees it.");
  for_each_vhost([&](const vhost_series& v) {
    for (auto& p : v.plugins())
      for (auto& h : p->hooks) {
        histogram_sum s;
        s.add(h->duration);
        out.sample({{"vhost", v.vhost()},
                    {"plugin", p->plugin},
                    {"hook", h->hook}},
                   s);
      }
  });
  out.family("dja_plugin_requests_in_flight", type::gauge,
             "Hook requests sent to a plugin and not answered yet (the "
             "backlog of a store).");
  for_each_vhost([&](const vhost_series& v) {
    for (auto& p : v.plugins())
      out.sample({{"vhost", v.vhost()}, {"plugin", p->plugin}},
                 p->in_flight.get());
  });
  out.family("dja_plugin_restarts_total", type::counter,
             "Times a vhost restarted a plugin actor that died.");
  for_each_vhost([&](const vhost_series& v) {
    for (auto& p : v.plugins())
      out.sample({{"vhost", v.vhost()}, {"plugin", p->plugin}},
                 p->restarts.get());
  });
}

void write_actors(exposition& out, const probes& p) {
  out.family("dja_actor_up", type::gauge,
             "1 when the actor answered the scrape's probe within 1 s.");
  for (auto& a : p.actors)
    out.sample({{"actor", a.kind}, {"id", a.id}},
               static_cast<int64_t>(a.up ? 1 : 0));
  out.family("dja_actor_mailbox_depth", type::gauge,
             "Messages waiting in a hot actor's mailbox when it answered "
             "the probe (sent with high priority, ahead of the backlog).");
  for (auto& a : p.actors)
    if (a.up)
      out.sample({{"actor", a.kind}, {"id", a.id}},
                 static_cast<int64_t>(a.mailbox));
  if (p.s2s_streams) {
    out.family("dja_s2s_streams", type::gauge,
               "Authenticated server-to-server streams by direction.");
    out.sample({{"direction", "in"}},
               static_cast<int64_t>(p.s2s_streams->first));
    out.sample({{"direction", "out"}},
               static_cast<int64_t>(p.s2s_streams->second));
  }
  if (p.cluster_links) {
    out.family("dja_cluster_links", type::gauge,
               "Cluster nodes this node is linked to.");
    out.sample({}, static_cast<int64_t>(*p.cluster_links));
  }
}

} // namespace

void write_all(exposition& out, const probes& p) {
  out.family("dja_build_info", type::gauge,
             "Always 1; the version of the running server as a label.");
  out.sample({{"version", DJA_VERSION}}, int64_t{1});
  out.family("dja_metrics_enabled", type::gauge,
             "1 when counting is on ([server] metrics); 0: only the "
             "probes and process metrics are live.");
  out.sample({}, static_cast<int64_t>(on() ? 1 : 0));
  auto t = add_up();
  write_connections(out, t);
  write_sessions(out, t, p);
  write_stanzas(out, t);
  write_hooks(out);
  write_actors(out, p);
  write_process(out);
}

} // namespace dja::metrics
