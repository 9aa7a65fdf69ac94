// Stanzas between nodes. The sending router shard asks its node actor to
// forward; the receiving node actor hands the stanza to its own sessions
// and answers whether anyone took it. No answer in time, a lost link or
// "nobody here" all come back to the router shard as false, which then
// stores the message offline or bounces it — a stanza is never dropped
// silently between nodes.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/node_state.hpp"
#include "cluster/wire_xml.hpp"
#include "hooks/catalogue.hpp"

namespace dja::cluster {

caf::typed_response_promise<bool> node_state::forward_out(forward& f) {
  auto rp = self->make_response_promise<bool>();
  // No node named: the one that holds `to` (a service, services.hpp).
  if (f.node.empty())
    if (auto e = dir->find_full(f.to.bare_str(), f.to.resource()))
      f.node = e->node;
  auto i = peers.find(f.node);
  if (i == peers.end() || !f.stanza) {
    ++stats.forward_failed;
    rp.deliver(false);
    return rp;
  }
  ++stats.forwarded;
  remote_stanza s;
  s.mode = static_cast<uint8_t>(f.mode);
  s.to = f.to.str();
  s.xml = wire_xml::serialize(*f.stanza);
  auto node = f.node;
  self->request(i->second.actor, opts.forward_timeout, std::move(s))
    .then(
      [this, rp](bool taken) mutable {
        if (!taken)
          ++stats.forward_failed;
        rp.deliver(taken);
      },
      [this, rp, node](caf::error& err) mutable {
        ++stats.forward_failed;
        spdlog::debug("cluster: hop to {} failed: {}", node,
                      self->system().render(err));
        rp.deliver(false);
      });
  return rp;
}

bool node_state::deliver_in(const remote_stanza& s) {
  ++stats.received;
  auto to = jid::parse(s.to);
  auto stanza = wire_xml::parse(s.xml);
  if (!to || !stanza) {
    ++stats.receive_missed;
    spdlog::warn("cluster: unparsable stanza from a peer dropped (sender "
                 "falls back)");
    return false;
  }
  bool taken = false;
  auto mode = static_cast<deliver_mode>(s.mode);
  if (mode == deliver_mode::full || mode == deliver_mode::carbon) {
    if (auto e = find_local(*to)) {
      if (mode == deliver_mode::carbon) // router/carbons.cpp
        self->send(e->session, msg::carbon{stanza});
      else
        self->send(e->session, msg::deliver_local{stanza});
      taken = true;
    }
  } else if (auto i = local.find(to->bare_str()); i != local.end()) {
    for (auto& e : i->second) {
      if (mode == deliver_mode::push) {
        self->send(e.session, msg::roster_push{stanza});
        taken = true;
      } else if (e.available
                 && (mode == deliver_mode::available || e.priority >= 0)) {
        self->send(e.session, msg::deliver_local{stanza});
        taken = true;
      }
    }
  }
  if (!taken)
    ++stats.receive_missed;
  else if (stanza->name == "presence")
    presence_received(*to, stanza);
  return taken;
}

void node_state::presence_received(const jid& to,
                                   const xml::element_ptr& stanza) {
  // The sender is bound on another node: the vhost's plugins here never
  // saw its session (hooks/catalogue.hpp).
  auto type = stanza->attr_or("type");
  auto from = jid::parse(stanza->attr_or("from"));
  if ((!type.empty() && type != "unavailable") || !from
      || from->local().empty())
    return;
  auto v = vhosts ? vhosts->find(to.domain()) : vhost_table::const_iterator{};
  if (!vhosts || v == vhosts->end()
      || !v->second.serves<hooks::presence_received>())
    return;
  self->send(v->second.actor,
             hooks::presence_received{stanza, *from, to, router});
}

} // namespace dja::cluster
