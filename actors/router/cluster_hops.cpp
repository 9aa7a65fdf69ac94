// A router shard and the other nodes of a cluster (docs/cluster.md): the
// resources a user has bound elsewhere come from the cluster's directory,
// and a stanza for one of them hops to that node through the node actor,
// which acknowledges it. RFC 6121 §8.5 applies across nodes as on one.

#include <algorithm>
#include <memory>

#include <caf/all.hpp>

#include "router/shard.hpp"

namespace dja {

std::vector<cluster::entry> shard_state::remote_of(const jid& user) const {
  if (!cluster)
    return {};
  return cluster->dir->find(user.bare_str());
}

void shard_state::hop(const std::string& node, cluster::deliver_mode mode,
                      const xml::element_ptr& stanza, const jid& to,
                      std::function<void(bool)> done) {
  self
    ->request(cluster->node, caf::infinite,
              cluster::forward{node, mode, stanza, to})
    .then([done](bool taken) { done(taken); },
          [done](caf::error&) { done(false); });
}

void shard_state::remote_fanout(const jid& user, cluster::deliver_mode mode,
                                const xml::element_ptr& stanza) {
  std::vector<std::string> nodes;
  for (auto& e : remote_of(user)) {
    bool wanted = mode == cluster::deliver_mode::push
                  || (e.available
                      && (mode == cluster::deliver_mode::available
                          || e.priority >= 0));
    if (wanted && std::find(nodes.begin(), nodes.end(), e.node) == nodes.end())
      nodes.push_back(e.node);
  }
  for (auto& n : nodes)
    hop(n, mode, stanza, user.bare(), [](bool) {});
}

bool shard_state::remote_full(msg::route& r) {
  if (!cluster)
    return false;
  auto e = cluster->dir->find_full(r.to.bare_str(), r.to.resource());
  if (!e)
    return false;
  auto copy = r;
  hop(e->node, cluster::deliver_mode::full, r.stanza, r.to,
      [this, copy](bool taken) mutable {
        if (taken) {
          received_copies(copy, copy.to.resource()); // XEP-0280 §7
          return;
        }
        const auto& kind = copy.stanza->name;
        auto type = copy.stanza->attr_or("type");
        if (kind == "message")
          message_to_bare(copy, true);
        else if (kind == "iq" && (type == "get" || type == "set"))
          bounce(*copy.stanza, copy.from, "service-unavailable");
      });
  return true;
}

std::vector<std::pair<jid, xml::element_ptr>>
shard_state::remote_presences(const jid& user) const {
  std::vector<std::pair<jid, xml::element_ptr>> out;
  for (auto& e : remote_of(user))
    if (e.available && e.presence)
      out.emplace_back(user.with_resource(e.resource), e.presence);
  return out;
}

bool shard_state::remote_to_bare(msg::route& r,
                                 const std::vector<cluster::entry>& es,
                                 int best, const std::string& type,
                                 bool local_taken, bool rerouted) {
  std::vector<const cluster::entry*> chosen;
  for (auto& e : es)
    if (e.available && e.priority >= 0
        && (type == "headline" || e.priority == best))
      chosen.push_back(&e);
  if (chosen.empty())
    return false;
  auto pending = std::make_shared<size_t>(chosen.size());
  auto taken = std::make_shared<bool>(local_taken);
  auto copy = r;
  for (auto e : chosen)
    hop(e->node, cluster::deliver_mode::full, r.stanza,
        r.to.bare().with_resource(e->resource),
        [this, pending, taken, copy, type, rerouted](bool ok) mutable {
          *taken = *taken || ok;
          if (--*pending > 0 || *taken || type == "headline")
            return;
          // Every hop failed (the node was lost, or the resource left):
          // once more on the directory as it is now, then offline.
          if (!rerouted)
            message_to_bare(copy, true);
          else
            undeliverable(copy, "service-unavailable");
        });
  return true;
}

} // namespace dja
