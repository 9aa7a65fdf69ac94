// Stanzas between nodes. The sending router shard asks its node actor to
// forward; the receiving node actor hands the stanza to its own sessions
// and answers whether anyone took it. No answer in time, the loss of the
// node (at once, not at the timeout) or "nobody here" all come back to the
// router shard as false, which then routes a message once more on the
// directory as it is now, else stores it offline or bounces it — a stanza
// is never dropped silently between nodes.

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
  auto id = ++next_hop;
  in_flight[node].emplace(id, rp);
  self->request(i->second.actor, opts.forward_timeout, std::move(s))
    .then(
      [this, node, id](bool taken) { hop_answered(node, id, taken); },
      [this, node, id](caf::error& err) {
        spdlog::debug("cluster: hop to {} failed: {}", node,
                      self->system().render(err));
        hop_answered(node, id, false);
      });
  return rp;
}

void node_state::hop_answered(const std::string& node, uint64_t id,
                              bool taken) {
  auto n = in_flight.find(node);
  if (n == in_flight.end())
    return; // failed at node loss already
  auto h = n->second.find(id);
  if (h == n->second.end())
    return;
  if (!taken)
    ++stats.forward_failed;
  h->second.deliver(taken);
  n->second.erase(h);
  if (n->second.empty())
    in_flight.erase(n);
}

void node_state::fail_in_flight(const std::string& node) {
  auto n = in_flight.find(node);
  if (n == in_flight.end())
    return;
  auto hops = std::move(n->second);
  in_flight.erase(n);
  stats.forward_failed += hops.size();
  stats.failed_at_loss += hops.size();
  if (!hops.empty())
    spdlog::info("cluster: {} stanzas in flight to lost node {} go back to "
                 "their senders' routers", hops.size(), node);
  for (auto& [id, rp] : hops)
    rp.deliver(false);
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
