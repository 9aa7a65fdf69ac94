#include "listener/listener.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/operator_messages.hpp"
#include "component/stream_state.hpp"
#include "connection/connection.hpp"
#include "connection/connection_state.hpp"
#include "listener/connection_limits.hpp"
#include "metrics/cells.hpp"
#include "s2s/in_state.hpp"
#include "web/settings.hpp"

namespace dja {

namespace {

struct listener_state {
  static inline const char* name = "listener";
  context_ptr ctx;
  listener_options opts;
  bool component = false; ///< XEP-0114 streams (actors/component)
  /// An `http` listener (docs/web.md): HTTP and WebSocket connections.
  std::shared_ptr<const web::settings> web;
  struct open_connection {
    caf::actor actor;
    std::string key; ///< counted under this key in `limits`
  };
  std::unordered_map<caf::actor_addr, open_connection> connections;
  std::vector<caf::io::accept_handle> doormen;
  /// Connection counts shared by the node's listeners (null: no bounds).
  std::shared_ptr<connection_limits> limits;
  bool stopping = false;

  /// What its connections count as (dja_connections{kind}).
  metrics::conn_kind kind() const {
    return component         ? metrics::conn_kind::component
           : opts.s2s        ? metrics::conn_kind::s2s_in
           : opts.direct_tls ? metrics::conn_kind::c2s_tls
                             : metrics::conn_kind::c2s;
  }
};

using listener_broker = caf::io::stateful_broker<listener_state>;

/// Refuses a connection over a bound: a stream header and a stream error
/// (RFC 6120 §4.9.1.2: the header first, even before the peer's), then
/// the socket closes. Over its own address's bound a peer violates a
/// local policy (§4.9.3.14 <policy-violation/>); over the server's total
/// the server lacks the resources (§4.9.3.17 <resource-constraint/>).
/// Direct TLS (XEP-0368) has no plain-text stream to carry it: closed.
void refuse(listener_broker* self, caf::io::connection_handle hdl,
            connection_limits::verdict v, const std::string& key) {
  auto& st = self->state;
  bool per_address = v == connection_limits::verdict::address_full;
  const char* cond = per_address ? "policy-violation" : "resource-constraint";
  if (st.web && !st.opts.direct_tls) {
    std::string out = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                      "21\r\nConnection: close\r\nRetry-After: 10\r\n\r\n"
                      "too many connections\n";
    auto& buf = self->wr_buf(hdl);
    buf.insert(buf.end(), out.begin(), out.end());
    self->flush(hdl);
  } else if (!st.opts.direct_tls) {
    std::string out = "<?xml version='1.0'?><stream:stream xmlns='";
    out += st.opts.s2s    ? "jabber:server"
           : st.component ? component::ns_accept
                          : "jabber:client";
    out += "' xmlns:stream='http://etherx.jabber.org/streams' "
           "version='1.0'><stream:error><";
    out += cond;
    out += " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
           "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>";
    out += per_address ? "too many connections from your address"
                       : "too many connections";
    out += "</text></stream:error></stream:stream>";
    auto& buf = self->wr_buf(hdl);
    buf.insert(buf.end(), out.begin(), out.end());
    self->flush(hdl);
  }
  self->close(hdl);
  if (auto n = st.limits->to_log(key))
    spdlog::warn("connection from {} refused ({}): {} open, limit {} per "
                 "address, {} in total; {} refused since the last line",
                 key, cond, st.limits->total(),
                 st.ctx->limits.max_connections_per_address,
                 st.limits->max_total(), n);
}

caf::behavior listener_actor(listener_broker* self, context_ptr ctx,
                             listener_options opts, bool component,
                             std::shared_ptr<const web::settings> web) {
  self->state.ctx = std::move(ctx);
  self->state.opts = opts;
  self->state.component = component;
  self->state.web = std::move(web);
  if (self->state.web)
    self->state.opts.direct_tls = self->state.web->tls;
  self->state.limits = self->state.ctx->conn_limits;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.connections.find(dm.source);
    if (i == st.connections.end())
      return;
    if (st.limits)
      st.limits->release(i->second.key);
    st.connections.erase(i);
    metrics::connection(st.kind(), -1);
  });
  return {
    [self](open_atom, const std::string& address,
           uint16_t port) -> caf::result<uint16_t> {
      auto res = self->add_tcp_doorman(port, address.c_str(), true);
      if (!res)
        return res.error();
      self->state.doormen.push_back(res->first);
      auto& o = self->state.opts;
      spdlog::info("listening for {} on {}:{}",
                   self->state.component ? "component"
                   : self->state.web     ? (o.direct_tls ? "https" : "http")
                   : o.s2s               ? "s2s"
                   : o.direct_tls        ? "c2s_tls"
                                         : "c2s",
                   address, res->second);
      return res->second;
    },
    [self](const caf::io::new_connection_msg& m) {
      auto& st = self->state;
      std::string key;
      if (st.limits) {
        key = connection_limits::key_of(self->remote_addr(m.handle));
        auto v = st.limits->admit(key);
        if (v != connection_limits::verdict::ok) {
          metrics::connection_refused(st.kind());
          refuse(self, m.handle, v, key);
          return;
        }
      }
      auto conn
        = st.web ? self->fork(http_connection_actor, m.handle, st.ctx,
                              st.opts, st.web)
        : st.component ? self->fork(component::stream, m.handle, st.ctx)
          : st.opts.s2s ? self->fork(s2s::in_stream, m.handle, st.ctx)
                        : self->fork(connection_actor, m.handle, st.ctx,
                                     st.opts);
      self->monitor(conn);
      metrics::connection(st.kind(), +1);
      if (st.stopping)
        self->send(conn, shutdown_atom::value);
      st.connections.emplace(conn.address(),
                             listener_state::open_connection{conn, key});
    },
    [self](shutdown_atom) -> size_t {
      auto& st = self->state;
      st.stopping = true;
      for (auto& [addr, conn] : st.connections)
        self->send(conn.actor, shutdown_atom::value);
      // Stop accepting; the connections live on until they have closed.
      for (auto& d : st.doormen)
        self->close(d);
      st.doormen.clear();
      return st.connections.size();
    },
    [self](count_atom) -> size_t { return self->state.connections.size(); },
    // A reload (server/reload.hpp): the certificates, limits and vhosts
    // of the connections accepted from now on; the open ones keep theirs.
    [self](msg::new_context& m) { self->state.ctx = std::move(m.ctx); },
    [](const caf::io::acceptor_closed_msg&) {},
    // A refused connection (refuse()) may still report on its way out.
    [](const caf::io::connection_closed_msg&) {},
    [](const caf::io::new_data_msg&) {},
  };
}

} // namespace

caf::actor spawn_c2s_listener(caf::actor_system& sys, context_ptr ctx,
                              listener_options opts) {
  return sys.middleman().spawn_broker(listener_actor, std::move(ctx), opts,
                                      false,
                                      std::shared_ptr<const web::settings>{});
}

caf::actor spawn_http_listener(caf::actor_system& sys, context_ptr ctx,
                               listener_options opts,
                               std::shared_ptr<const web::settings> web) {
  return sys.middleman().spawn_broker(listener_actor, std::move(ctx), opts,
                                      false, std::move(web));
}

caf::actor spawn_component_listener(caf::actor_system& sys, context_ptr ctx) {
  return sys.middleman().spawn_broker(listener_actor, std::move(ctx),
                                      listener_options{}, true,
                                      std::shared_ptr<const web::settings>{});
}

} // namespace dja
