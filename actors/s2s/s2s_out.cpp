// An outgoing s2s stream: connecting (through a detached connector, so
// no actor waits on DNS or connect), the stream events of its pump
// (stream/pump.hpp: TLS, parser), the stanza queue kept in order until the stream is
// authenticated, the idle close, and failures that bounce every waiting
// stanza to its sender (RFC 6120 §8.3.3.15 / .16).

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "s2s/out_state.hpp"
#include "s2s/resolver.hpp"
#include "s2s/s2s.hpp"
#include "s2s/wire.hpp"

namespace dja::s2s {

using out_broker = caf::io::stateful_broker<out_state>;

void out_state::start() {
  last_used = std::chrono::steady_clock::now();
  spdlog::info("s2s out {} -> {}: connecting", local, remote);
  std::string host;
  uint16_t port = 0;
  if (auto i = cfg->routes.find(remote); i != cfg->routes.end()) {
    host = i->second.host;
    port = i->second.port;
  }
  connector_pending = true;
  auto connector = spawn_connector(self->system());
  self
    ->request(connector, caf::infinite, connect_atom::value, remote, host,
              port, caf::timespan{cfg->connect_timeout})
    .then([this](connect_result& res) { on_connected(res); },
          [this](caf::error& err) {
            connect_result res;
            res.error = self->system().render(err);
            on_connected(res);
          });
  arm_handshake_timer();
  // The idle check runs for the whole life of the stream.
  self->delayed_send(self, cfg->idle_timeout, idle_atom::value);
}

void out_state::arm_handshake_timer() {
  self->delayed_send(self, cfg->handshake_timeout, s2s_timer_atom::value,
                     ++timer_gen);
}

void out_state::on_connected(connect_result& res) {
  connector_pending = false;
  if (!fail_condition.empty() || ph == phase::closing) {
    // Given up meanwhile: nobody wants this socket any more.
    if (res.fd >= 0)
      ::close(res.fd);
    if (done_received)
      self->quit(); // on_done() waited for us
    return;
  }
  if (res.fd < 0) {
    finish(res.timed_out ? "remote-server-timeout" : "remote-server-not-found",
           res.error);
    return;
  }
  peer = res.peer;
  hdl = self->add_scribe(res.fd);
  connected = true;
  counted.open(metrics::conn_kind::s2s_out);
  const auto& lim = ctx->limits;
  pump.emplace(self, *this,
               stream::bounds{lim.s2s_stanza_size, lim.write_buffer,
                              lim.s2s_rate, lim.rate_burst});
  pump->attach(hdl);
  spdlog::info("s2s out {} -> {}: connected to {}", local, remote, peer);
  send_header();
}

void out_state::on_route(msg::route& r) {
  last_used = std::chrono::steady_clock::now();
  if (!fail_condition.empty()) {
    bounce(r, fail_condition);
    return;
  }
  if (ph == phase::closing) {
    queue.push_back(std::move(r)); // handed back to the manager later
    return;
  }
  if (ph == phase::ready) {
    metrics::stanza(metrics::stream_kind::s2s, metrics::direction::out,
                    r.stanza->name);
    write(to_wire(*retag(*r.stanza, ns::client, ns_server)));
    return;
  }
  queue.push_back(std::move(r));
  if (ph == phase::open)
    authenticate();
}

void out_state::flush_queue() {
  while (!queue.empty()) {
    auto r = std::move(queue.front());
    queue.pop_front();
    metrics::stanza(metrics::stream_kind::s2s, metrics::direction::out,
                    r.stanza->name);
    write(to_wire(*retag(*r.stanza, ns::client, ns_server)));
  }
}

void out_state::on_tls_established() {
  if (!tls_header_pending)
    return;
  tls_header_pending = false;
  auto problem = tls()->peer_problem(remote);
  spdlog::info("s2s out {} -> {}: {} established, certificate {}", local,
               remote, tls()->version(),
               problem.empty() ? "valid" : "not valid: " + problem);
  send_header();
}

void out_state::on_stream_bad_xml(const char* condition) {
  write(errors::stream_error(condition));
  finish(authenticated ? "" : "remote-server-not-found",
         std::string{"peer sent bad XML: "} + condition);
}

void out_state::on_stream_lost(const std::string& why, bool) {
  connected = false;
  finish(authenticated ? "" : "remote-server-not-found", why);
}

void out_state::on_stream_open(const xml::stream_header& h) {
  if (ph != phase::header || h.ns != ns::stream
      || h.default_ns != ns_server) {
    write(errors::stream_error("invalid-namespace"));
    finish("remote-server-not-found", "not a jabber:server stream");
    return;
  }
  std::string version;
  for (auto& a : h.attrs)
    if (a.ns.empty() && a.name == "id")
      stream_id = a.value;
    else if (a.ns.empty() && a.name == "version")
      version = a.value;
  ph = phase::features;
  if (version.rfind("1.", 0) != 0) {
    // RFC 6120 §4.7.5: a pre-1.0 peer sends no features (and knows
    // no TLS): straight to dialback, unless TLS is required.
    on_features(std::make_shared<const xml::element>("features", ns::stream));
  }
}

void out_state::on_stream_stanza(const xml::element_ptr& e) {
  on_stanza(e);
}

void out_state::on_stream_close() {
  write("</stream:stream>");
  finish(authenticated ? "" : "remote-server-not-found", "closed by the peer");
}

void out_state::write(const std::string& text) {
  if (connected)
    pump->write(text);
}

void out_state::on_idle_check() {
  if (ph == phase::closing)
    return;
  auto idle = std::chrono::steady_clock::now() - last_used;
  bool busy = !queue.empty() || !verifies_unsent.empty()
              || !verifies_sent.empty();
  if (idle >= cfg->idle_timeout && !busy) {
    write("</stream:stream>");
    finish("", "idle");
    return;
  }
  auto left = cfg->idle_timeout - idle;
  if (busy || left <= std::chrono::seconds(0))
    left = cfg->idle_timeout;
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::seconds>(
                             left + std::chrono::milliseconds(999)),
                     idle_atom::value);
}

void out_state::bounce(const msg::route& r, const std::string& condition) {
  const auto& e = *r.stanza;
  if (errors::is_error(e))
    return;
  // Messages and iq requests bounce (every iq get/set gets exactly one
  // answer); of presences only a subscription request, so that the user
  // learns it went nowhere (RFC 6121 §3.1.1 leaves this open).
  auto type = e.attr_or("type");
  bool wanted = e.name == "message"
                || (e.name == "iq" && (type == "get" || type == "set"))
                || (e.name == "presence" && type == "subscribe");
  if (!wanted)
    return;
  // Through the manager: it answers each iq get/set exactly once.
  self->send(manager, undeliverable{r.stanza, condition});
}

void out_state::finish(const std::string& condition, const std::string& why) {
  if (ph == phase::closing)
    return;
  auto was = ph;
  ph = phase::closing;
  counted.close();
  fail_condition = condition;
  if (!condition.empty())
    spdlog::info("s2s out {} -> {}: failed ({}): {}; {} stanza(s) bounced",
                 local, remote, condition, why, queue.size());
  else
    spdlog::info("s2s out {} -> {}: closed ({}; {}, {})", local, remote, why,
                 authenticated ? method : "not authenticated",
                 tls() ? tls()->version() : std::string{"no TLS"});
  if (!condition.empty()) {
    for (auto& r : queue)
      bounce(r, condition);
    queue.clear();
  }
  for (auto& v : verifies_unsent)
    v.rp.deliver(caf::make_error(caf::sec::request_receiver_down));
  for (auto& [id, rp] : verifies_sent)
    rp.deliver(caf::make_error(caf::sec::request_receiver_down));
  verifies_unsent.clear();
  verifies_sent.clear();
  if (connected) {
    pump->close();
    connected = false;
  }
  closing_asked = true;
  // Stanzas went out on a stream that broke: their iqs may never be
  // answered (the manager gives them a grace period, then bounces).
  bool broke = was == phase::ready && why != "idle";
  self->request(manager, caf::infinite, closing_atom::value, broke)
    .then([this](done_atom) { on_done(); },
          [this](caf::error&) { on_done(); });
}

void out_state::on_done() {
  done_received = true;
  // The manager routes nothing more to us; what came meanwhile is ours.
  for (auto& r : queue) {
    if (fail_condition.empty())
      self->send(manager, std::move(r)); // a new stream takes it
    else
      bounce(r, fail_condition);
  }
  queue.clear();
  if (connector_pending)
    return; // on_connected() closes its socket, then calls us again
  self->quit();
}

namespace {

caf::behavior out_stream(out_broker* self, context_ptr ctx, std::string local,
                         std::string remote, caf::actor manager) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  st.cfg = st.ctx->s2s_settings.get();
  st.local = std::move(local);
  st.remote = std::move(remote);
  st.manager = std::move(manager);
  st.start();
  return {
    [self](msg::route& r) { self->state.on_route(r); },
    [self](verify_request& v) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.fail_condition.empty() || st.ph == out_state::phase::closing)
        return caf::make_error(caf::sec::request_receiver_down);
      auto rp = self->make_response_promise<bool>();
      st.last_used = std::chrono::steady_clock::now();
      st.verifies_unsent.push_back(out_state::verify{v.stream_id, v.key, rp});
      if (st.ph == out_state::phase::open || st.ph == out_state::phase::sasl
          || st.ph == out_state::phase::dialback
          || st.ph == out_state::phase::ready)
        st.send_verifies();
      else
        st.arm_handshake_timer();
      return rp;
    },
    [self](const caf::io::new_data_msg& m) {
      auto& st = self->state;
      if (st.ph != out_state::phase::closing && st.pump)
        st.pump->on_data(m.buf.data(), m.buf.size());
    },
    [self](hibernate_atom) {
      if (self->state.pump)
        self->state.pump->on_hibernate_timer();
    },
    [self](stream::read_atom) {
      if (self->state.pump)
        self->state.pump->on_read_timer();
    },
    [self](const caf::io::data_transferred_msg& m) {
      if (self->state.pump)
        self->state.pump->on_written(m.written);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.pump)
        st.pump->on_socket_closed();
      st.connected = false;
      st.finish(st.authenticated ? "" : "remote-server-not-found",
                "connection lost");
    },
    [self](s2s_timer_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.timer_gen || st.ph == out_state::phase::closing)
        return;
      bool waiting = !st.queue.empty() || !st.verifies_unsent.empty()
                     || !st.verifies_sent.empty();
      if (st.ph != out_state::phase::ready && waiting) {
        if (st.connected)
          st.write(errors::stream_error("connection-timeout"));
        st.finish("remote-server-timeout", "no answer in time");
      }
    },
    [self](idle_atom) { self->state.on_idle_check(); },
    [self](shutdown_atom) {
      auto& st = self->state;
      if (st.connected)
        st.write(errors::stream_error("system-shutdown"));
      st.finish("remote-server-not-found", "server stopping");
    },
  };
}

} // namespace

caf::actor spawn_out_stream(caf::actor_system& sys, context_ptr ctx,
                            std::string local, std::string remote,
                            caf::actor manager) {
  return sys.middleman().spawn_broker(out_stream, std::move(ctx),
                                      std::move(local), std::move(remote),
                                      std::move(manager));
}

} // namespace dja::s2s
