#include "session/session.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/operator_messages.hpp"
#include "hooks/catalogue.hpp"
#include "session/session_state.hpp"

namespace dja {

void session_state::to_client(xml::element_ptr e) {
  if (e->name == "iq")
    iq_answered(*e);
  push_wake(e); // XEP-0357 (push.cpp)
  if (giving_back)
    returned.push_back(std::move(e));
  else if (detached() || (sm && sm->taking_over))
    sm_queue(std::move(e)); // XEP-0198 §5: kept for the resumption
  else if (!csi || !csi_holds(e)) // XEP-0352 (csi.cpp)
    self->send(conn, msg::to_client{std::move(e)});
}

void session_state::reply_error(const xml::element& e, std::string_view cond) {
  if (!errors::is_error(e))
    to_client(errors::stanza_error(e, cond));
}

void session_state::route(xml::element_ptr e, const jid& to) {
  self->send(ctx->router.shard_for(to), msg::route{std::move(e), full, to});
}

/// From the client: check, stamp, filter, dispatch.
void session_state::from_client(const xml::element_ptr& in) {
  const auto& e = *in;
  if (e.ns == ns::csi) { // XEP-0352 nonzas (csi.cpp)
    on_csi(e);
    return;
  }
  // RFC 6120 §8.1.2.1: a `from` other than the own JIDs is refused, or
  // corrected (the stamp below overwrites it).
  if (auto from = e.attr("from")) {
    auto j = jid::parse(*from);
    if (!j || (*j != full && *j != bare)) {
      if (!vhost->correct_forged_from) {
        self->send(conn, msg::close_stream{"invalid-from", {}});
        return;
      }
      // COMPAT(libpurple): old clients sent a wrong `from` harmlessly;
      // DJabberd and Prosody correct it.
      spdlog::debug("{}: forged from '{}' corrected", full.str(), *from);
    }
  }
  auto stamped = std::make_shared<xml::element>(e);
  stamped->set_attr("from", full.str());
  std::optional<jid> to;
  if (auto t = e.attr("to")) {
    to = jid::parse(*t);
    if (!to) {
      reply_error(*stamped, "jid-malformed");
      return;
    }
    stamped->set_attr("to", to->str());
  }
  if (e.name == "iq" && (!valid_iq(*stamped) || !count_iq(*stamped)))
    return;
  xml::element_ptr out = std::move(stamped);
  if (vhost->serves<hooks::filter_stanza>()) {
    self
      ->request(vhost->actor, caf::infinite,
                hooks::filter_stanza{out, full})
      .then([this, to](hooks::filter_verdict& v) {
        if (v.stanza)
          dispatch(v.stanza, to);
        else
          spdlog::debug("{}: stanza dropped by a filter: {}", full.str(),
                        v.reason);
      });
    return;
  }
  dispatch(out, to);
}

/// RFC 6120 §8.2.3: id required, a known type, get/set with one child.
bool session_state::valid_iq(const xml::element& e) {
  auto type = e.attr_or("type");
  bool request = type == "get" || type == "set";
  if (!request && type != "result" && type != "error") {
    reply_error(e, "bad-request");
    return false;
  }
  if (e.attr("id") == nullptr) {
    if (request)
      reply_error(e, "bad-request");
    return false;
  }
  if (request && e.elements().size() != 1) {
    reply_error(e, "bad-request");
    return false;
  }
  return true;
}

void session_state::dispatch(const xml::element_ptr& e, const std::optional<jid>& to) {
  if (to && blocked_outbound(*e, *to)) // XEP-0191 §3.3
    return;
  const auto& kind = e->name;
  if (kind == "presence" && !to) {
    broadcast_presence(*e);
    return;
  }
  if (kind == "presence" && on_directed_presence(e, *to))
    return;
  // No `to`: addressed to the own account (RFC 6120 §10.3).
  jid target = to ? *to : bare;
  if (find_service(ctx->vhosts, target.domain())) { // a room, a component
    route(e, target);
    copy_sent(e, target);
    return;
  }
  bool local_domain = ctx->find_vhost(target.domain()) != nullptr;
  bool for_server = local_domain && target.local().empty()
                    && target.is_bare();
  // RFC 6120 §10.5.3.1 / §10.3.3: an iq to a bare JID is answered by the
  // server on the account's behalf.
  if (kind == "iq" && local_domain && target.is_bare()) {
    iq_for_server(e, target);
    return;
  }
  if (for_server)
    return; // messages and presences to the server itself: nothing to do
  route(e, target);
  copy_sent(e, target); // XEP-0280 §8 (carbons.cpp)
}

void session_state::iq_for_server(const xml::element_ptr& e, const jid& target) {
  auto type = e->attr_or("type");
  if (type != "get" && type != "set") {
    // Results and errors to the server answer requests the server sent on
    // its own (e.g. the XEP-0115 caps query of plugins/pep): the plugin
    // that declared their key ("result NS") takes them; nothing is
    // replied (anonymous: the vhost's answer goes nowhere).
    if (auto v = ctx->find_vhost(target.domain()); v && e->first_element())
      caf::anon_send(v->actor, hooks::iq_request{e, full, target});
    return;
  }
  auto payload = e->first_element();
  if (payload->ns == "jabber:iq:roster" && on_roster_iq(e, target))
    return;
  if (payload->ns == "urn:xmpp:mam:2" && on_mam_iq(e, target)) // mam.cpp
    return;
  if (payload->ns == ns::blocking && target == bare && vhost_has_blocking()) {
    on_blocking_iq(e);
    return;
  }
  if (payload->name == "session" && payload->ns == ns::session) {
    to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
    return;
  }
  if (on_carbons_iq(e, target)) // XEP-0280 §4, §5 (carbons.cpp)
    return;
  auto v = ctx->find_vhost(target.domain());
  if (v == nullptr) {
    reply_error(*e, "service-unavailable");
    return;
  }
  if (!iq_to_blocking_user(e, target, *v))
    iq_to_vhost(e, target, *v);
}

void session_state::iq_to_vhost(const xml::element_ptr& e, const jid& target,
                                const vhost_info& v) {
  self->request(v.actor, caf::infinite, hooks::iq_request{e, full, target})
    .then(
      [this, e](xml::element_ptr& reply) {
        bool removed = reply->attr_or("type") == "result"
                       && e->attr_or("type") == "set"
                       && e->first_element()->ns == "jabber:iq:register"
                       && e->first_element()->child("remove") != nullptr;
        to_client(std::move(reply));
        // XEP-0077 §3.2: the account is gone; the server closes the
        // stream with <not-authorized/>.
        if (removed)
          self->send(conn, msg::close_stream{"not-authorized",
                                             "account removed"});
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
}

void session_state::close(const std::string& reason) {
  if (closed)
    return;
  closed = true;
  // Live stanzas held behind stored ones (offline.cpp) never reached the
  // connection: they are routed again like those it hands back.
  if (held && !held->empty())
    giving_back = true;
  // So are messages XEP-0352 held (csi.cpp; give_back() takes them).
  if (csi_holding())
    giving_back = true;
  auto finish = [this, reason] {
    if (giving_back) {
      give_back(reason);
      return;
    }
    self->send(ctx->router.shard_for(full), msg::unbind{full, self});
    if (vhost)
      self->send(vhost->actor,
                 hooks::session_closed{full, reason, unavailable_status});
    self->quit();
  };
  if (available) {
    // RFC 6121 §4.5.2: gone without saying so: unavailable on its
    // behalf to the own other resources.
    xml::element pres{"presence", ns::client};
    pres.set_attr("from", full.str()).set_attr("to", bare.str());
    pres.set_attr("type", "unavailable");
    self->send(ctx->router.shard_for(full),
               msg::presence_state{full, self, false, 0});
    route(std::make_shared<xml::element>(std::move(pres)), bare);
    available = false;
    if (vhost_has_roster()) {
      // Contacts too; the session lives until the roster has answered.
      send_unavailable_to_contacts(finish);
      return;
    }
  }
  // RFC 6121 §4.6.3: whoever got a directed presence (a XEP-0045 room
  // entered without a broadcast presence) learns that we left.
  for (auto& j : directed)
    if (auto to = jid::parse(j)) {
      auto u = std::make_shared<xml::element>("presence", ns::client);
      u->set_attr("from", full.str());
      u->set_attr("to", j);
      u->set_attr("type", "unavailable");
      route(std::move(u), *to);
    }
  directed.clear();
  if (broadcasts_in_flight > 0) {
    on_settled = finish;
    return;
  }
  finish();
}

void session_state::give_back(const std::string& reason) {
  // First what the connection still had (it answers drain_atom after
  // handing back everything sent before), then what the router sent
  // before it forgot us (it answers the unbind after): then nothing more
  // can reach us, and every stanza is routed again to the address it
  // had; with this session gone the router applies RFC 6121 §8.5
  // (another resource, offline storage, or an error to the sender).
  auto route_all = [this, reason] {
    if (held) {
      for (auto& e : *held)
        returned.push_back(std::move(e));
      held.reset();
    }
    for (auto& e : csi_take()) // presence among them is dropped below
      returned.push_back(std::move(e));
    size_t n = 0;
    for (auto& e : returned) {
      auto type = e->attr_or("type");
      bool wanted = e->name == "message"
                    || (e->name == "iq" && (type == "get" || type == "set"));
      auto from = jid::parse(e->attr_or("from"));
      auto to = jid::parse(e->attr_or("to"));
      if (!wanted || type == "error" || !from || !to || *from == bare)
        continue; // presence, errors, roster pushes: nothing to keep
      self->send(ctx->router.shard_for(*to), msg::route{e, *from, *to});
      ++n;
    }
    if (n > 0)
      spdlog::info("{}: {} stanza(s) the client did not read routed again",
                   full.str(), n);
    returned.clear();
    if (vhost)
      self->send(vhost->actor,
                 hooks::session_closed{full, reason, unavailable_status});
    self->quit();
  };
  auto unbind = [this, route_all] {
    self->request(ctx->router.shard_for(full), caf::infinite,
                  msg::unbind{full, self})
      .then([route_all] { route_all(); },
            [route_all](caf::error&) { route_all(); });
  };
  if (!conn || (sm && sm->released)) {
    // The connection is gone (it said closed_atom last, or died), or
    // XEP-0198: it handed everything over already.
    unbind();
    return;
  }
  self->request(conn, caf::infinite, drain_atom::value)
    .then([unbind] { unbind(); }, [unbind](caf::error&) { unbind(); });
}

namespace {

caf::behavior session_actor(caf::stateful_actor<session_state>* self, jid full,
                            caf::actor conn, context_ptr ctx,
                            std::string remote) {
  auto& st = self->state;
  st.self = self;
  st.bare = full.bare();
  st.full = std::move(full);
  st.conn = conn;
  st.ctx = std::move(ctx);
  st.vhost = st.ctx->find_vhost(st.full.domain());
  st.remote = std::move(remote);
  // The connection owns us: if it dies without telling us, clean up.
  self->monitor(conn);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.conn.address() || st.detached())
      return; // a connection we left (XEP-0198 detach or resumption)
    if (st.sm_takeover_done(nullptr))
      return; // it died before handing over (sm_takeover.cpp)
    st.conn = nullptr; // nothing to drain (give_back())
    if (st.replaced) {
      st.giving_back = true;
      st.give_back("replaced");
      return;
    }
    st.close("connection lost");
  });
  if (st.vhost_has_blocking())
    st.load_blocklist();
  return {
    [self](msg::from_client& m) { self->state.from_client(m.stanza); },
    [self](msg::roster_push& m) { self->state.on_roster_push(m.stanza); },
    [self](msg::deliver_local& m) {
      self->state.deliver_local(std::move(m.stanza));
    },
    [self](msg::blocklist_push& m) { self->state.on_blocklist_push(m.stanza); },
    [self](msg::carbon& m) { self->state.on_carbon(m.stanza); },
    [self](conflict_atom) {
      // Replaced by a newer bind: the router already points elsewhere.
      if (self->state.sm) {
        self->state.on_replaced();
        return;
      }
      self->state.closed = true;
      self->send(self->state.conn, msg::close_stream{"conflict", {}});
      if (self->state.csi_holding()) {
        // Messages XEP-0352 held go to the new session (csi.cpp).
        self->state.giving_back = true;
        self->state.give_back("replaced");
        return;
      }
      if (self->state.vhost)
        self->send(self->state.vhost->actor,
                   hooks::session_closed{self->state.full, "replaced"});
      self->quit();
    },
    [self](closed_atom) {
      // The connection's last word: nothing more comes from it.
      self->state.conn = nullptr;
      self->state.close("closed");
    },
    [self](overflow_atom) {
      self->state.giving_back = true;
      self->state.close("write buffer full");
    },
    [self](msg::undelivered& m) {
      auto& st = self->state;
      if (st.sm && !st.giving_back)
        st.to_client(std::move(m.stanza)); // queued, or to the new stream
      else
        st.returned.push_back(std::move(m.stanza));
    },
    [self](const msg::sm_enabled& m) { self->state.on_sm_enabled(m); },
    [self](msg::sm_parked& p) { self->state.on_sm_parked(p); },
    [self](const msg::sm_resume& r) -> caf::result<msg::sm_resumed> {
      auto& st = self->state;
      if (st.can_take_over(r)) { // its connection looks alive
        st.sm_take_over(r);
        return caf::delegated<msg::sm_resumed>{};
      }
      return st.on_sm_resume(r);
    },
    [self](sm_timeout_atom, uint64_t n) { self->state.on_sm_timeout(n); },
    [self](info_atom) -> msg::session_info {
      auto& st = self->state;
      msg::session_info i;
      i.remote = st.remote;
      i.since = static_cast<int64_t>(st.since);
      i.sm = !st.sm              ? ""
             : st.sm->detached   ? "detached"
             : st.sm->id.empty() ? "acks"
                                 : "resumable";
      i.conn = st.detached() ? caf::actor{} : st.conn;
      return i;
    },
    [self](kick_atom, std::string& condition, std::string& text) {
      // `ctl kick` (policy-violation), a vhost removed by a reload
      // (host-gone): a stream error ends the stream and, unlike a lost
      // connection, the session with it (XEP-0198 §5).
      auto& st = self->state;
      spdlog::info("{}: {} ({})", st.full.str(), condition, text);
      if (st.detached())
        st.sm_end(condition + ": " + text);
      else if (st.conn)
        self->send(st.conn, msg::close_stream{condition, text});
    },
    [self](shutdown_atom) {
      // A graceful stop (server.cpp); attached sessions end with their
      // connections.
      if (self->state.detached())
        self->state.sm_end("system shutdown");
    },
  };
}

} // namespace

caf::actor spawn_session(caf::actor_system& sys, jid full,
                         caf::actor connection, context_ptr ctx,
                         std::string remote_addr) {
  return sys.spawn(session_actor, std::move(full), std::move(connection),
                   std::move(ctx), std::move(remote_addr));
}

} // namespace dja
