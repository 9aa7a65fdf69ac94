// PEP for contacts outside the vhost (state.hpp): on another vhost of
// this server, on a remote server (over s2s) or bound on another node of
// the cluster. Their sessions are not the vhost's, so session.bound and
// the presence folds never show them; their presence reaching a user of
// the vhost does (the presence.received hook, router/presence_in.cpp and
// cluster/node_delivery.cpp). From it the plugin learns each resource's
// XEP-0115 caps (an unknown ver is asked with disco#info through the
// router, §6.3, and cached when its sha-1 checks out, §5.4), sends it the
// last items of the users who received the presence and let it see
// theirs (XEP-0163 §4.3.2), and notify.cpp's broadcast reaches it through
// the router like the vhost's own sessions (§4.3.5: filtered by
// NODE+notify). An unavailable presence forgets the resource; at most
// `remote_contacts` contacts are followed (beyond, one is forgotten).

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

const contact_resource* pep_state::contact(const jid& full) const {
  auto u = contacts.find(full.bare().str());
  if (u == contacts.end())
    return nullptr;
  auto r = u->second.find(full.resource());
  return r == u->second.end() ? nullptr : &r->second;
}

std::vector<jid> pep_state::resources_of(const std::string& bare) const {
  std::vector<jid> out;
  if (auto u = online.find(bare); u != online.end())
    for (auto& [name, res] : u->second)
      if (res.available)
        if (auto j = jid::parse(bare + "/" + name))
          out.push_back(*j);
  if (auto u = contacts.find(bare); u != contacts.end())
    for (auto& [name, res] : u->second)
      if (auto j = jid::parse(bare + "/" + name))
        out.push_back(*j);
  return out;
}

void pep_state::on_presence_received(const hooks::presence_received& p) {
  router = p.router;
  if (!p.from.is_full() || limits.remote_contacts == 0)
    return; // no client to notify
  auto bare = p.from.bare().str();
  // One of the vhost's own sessions here (the router only reports other
  // domains; a cluster node also this domain's users bound elsewhere).
  if (auto u = online.find(bare);
      u != online.end() && u->second.count(p.from.resource()) > 0)
    return;
  if (p.stanza->attr_or("type") == "unavailable") {
    if (auto u = contacts.find(bare); u != contacts.end()) {
      u->second.erase(p.from.resource());
      if (u->second.empty())
        contacts.erase(u);
    }
    return;
  }
  if (contacts.count(bare) == 0 && !contacts.empty()
      && contacts.size() >= static_cast<size_t>(limits.remote_contacts)) {
    spdlog::debug("{}: vhost {}: {} contacts outside the vhost followed "
                  "(remote_contacts), {} forgotten",
                  tag, domain, contacts.size(), contacts.begin()->first);
    contacts.erase(contacts.begin());
  }
  auto& res = contacts[bare][p.from.resource()];
  auto c = caps_of(*p.stanza);
  bool fresh = c ? !res.caps || res.caps->ver != c->ver : res.caps.has_value();
  bool new_viewer = res.seen_by.insert(p.to.bare().str()).second;
  res.caps = c;
  if (fresh)
    res.features = c ? caps.find(c->ver) : nullptr;
  if (!c)
    return;
  if (!res.features) {
    ask_caps(p.from, *c, caf::actor{});
    return;
  }
  if (fresh || new_viewer)
    contact_features_known(p.from);
}

void pep_state::contact_features_known(const jid& full) {
  auto c = contact(full);
  if (c == nullptr)
    return;
  // §4.3.2 with the presence access model: the owner's roster must let
  // the contact see the owner's presence (from/both); open and
  // whitelist nodes are checked by send_last_items().
  for (auto& viewer : c->seen_by) {
    auto owner = jid::parse(viewer);
    if (!owner)
      continue;
    self
      ->request(vhost, std::chrono::seconds(10), hooks::roster_get{*owner})
      .then(
        [this, owner = *owner, full](hooks::roster& ros) {
          for (auto& item : ros.items)
            if (item.contact == full.bare() && item.subscribed_from()) {
              send_last_items(owner, full);
              return;
            }
        },
        [](caf::error&) {});
  }
}

} // namespace dja::plugins::pep
