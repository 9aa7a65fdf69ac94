#include "listener/listener.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "connection/connection.hpp"
#include "connection/connection_state.hpp"
#include "s2s/in_state.hpp"

namespace dja {

namespace {

struct listener_state {
  static inline const char* name = "listener";
  context_ptr ctx;
  listener_options opts;
  std::unordered_map<caf::actor_addr, caf::actor> connections;
  std::vector<caf::io::accept_handle> doormen;
  bool stopping = false;
};

using listener_broker = caf::io::stateful_broker<listener_state>;

caf::behavior listener_actor(listener_broker* self, context_ptr ctx,
                             listener_options opts) {
  self->state.ctx = std::move(ctx);
  self->state.opts = opts;
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.connections.erase(dm.source);
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
                   o.s2s ? "s2s" : o.direct_tls ? "c2s_tls" : "c2s", address,
                   res->second);
      return res->second;
    },
    [self](const caf::io::new_connection_msg& m) {
      auto& st = self->state;
      auto conn = st.opts.s2s
                    ? self->fork(s2s::in_stream, m.handle, st.ctx)
                    : self->fork(connection_actor, m.handle, st.ctx, st.opts);
      self->monitor(conn);
      if (st.stopping)
        self->send(conn, shutdown_atom::value);
      st.connections.emplace(conn.address(), conn);
    },
    [self](shutdown_atom) -> size_t {
      auto& st = self->state;
      st.stopping = true;
      for (auto& [addr, conn] : st.connections)
        self->send(conn, shutdown_atom::value);
      // Stop accepting; the connections live on until they have closed.
      for (auto& d : st.doormen)
        self->close(d);
      st.doormen.clear();
      return st.connections.size();
    },
    [self](count_atom) -> size_t { return self->state.connections.size(); },
    [](const caf::io::acceptor_closed_msg&) {},
  };
}

} // namespace

caf::actor spawn_c2s_listener(caf::actor_system& sys, context_ptr ctx,
                              listener_options opts) {
  return sys.middleman().spawn_broker(listener_actor, std::move(ctx), opts);
}

} // namespace dja
