// Who hears a PEP node (state.hpp): XEP-0163 §4.3 notifications. The
// plugin follows the sessions of its vhost (session.bound/closed) and
// their available presence (the presence.alter_* folds, which it passes
// unchanged) with its XEP-0115 caps; an unknown verification string is
// asked once with disco#info (§6.3) and, when its sha-1 checks out
// (§5.4), cached by ver. A notification goes to the owner's available
// resources and to those of contacts with a presence subscription
// (from/both in the owner's roster) whose features include NODE+notify
// (XEP-0163 §4.3.5, filtered notifications), and to explicit
// subscribers; the last item of each such node goes to a resource when
// its presence first tells its caps (§4.3.2, on_sub_and_presence).
// Contacts outside the vhost are learnt from presence.received
// (contacts.cpp) and reached through the router.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "plugins/pep/state.hpp"

namespace dja::plugins::pep {

namespace {

/// Our disco#info queries in flight at most (an answer that never
/// comes must not grow the table for ever).
constexpr size_t max_queries = 1000;

} // namespace

void pep_state::on_bound(const hooks::session_bound& b) {
  if (b.full.domain() == domain)
    online[b.full.bare().str()][b.full.resource()].session = b.session;
}

void pep_state::on_closed(const hooks::session_closed& c) {
  auto u = online.find(c.full.bare().str());
  if (u == online.end())
    return;
  u->second.erase(c.full.resource());
  if (u->second.empty())
    online.erase(u);
}

void pep_state::on_unavailable(const hooks::presence_alter_unavailable& p) {
  auto u = online.find(p.user.bare().str());
  if (u == online.end())
    return;
  if (auto r = u->second.find(p.user.resource()); r != u->second.end()) {
    r->second.available = false;
    r->second.caps.reset();
    r->second.features = nullptr;
  }
}

void pep_state::on_available(const hooks::presence_alter_available& p) {
  auto u = online.find(p.user.bare().str());
  if (u == online.end())
    return;
  auto r = u->second.find(p.user.resource());
  if (r == u->second.end() || !r->second.session)
    return;
  auto& res = r->second;
  auto c = caps_of(*p.stanza);
  bool fresh = !res.available
               || (c ? !res.caps || res.caps->ver != c->ver
                     : res.caps.has_value());
  res.available = true;
  res.caps = c;
  if (!fresh)
    return;
  res.features = nullptr;
  if (!c)
    return;
  if (auto f = caps.find(c->ver)) {
    res.features = f;
    // After the fold's answer: the presence is not held up by the
    // store reads.
    self->send(self, last_items_atom::value, p.user);
    return;
  }
  ask_caps(p.user, *c, res.session);
}

void pep_state::ask_caps(const jid& full, const caps_ref& c,
                         const caf::actor& session) {
  // §6.3: one query per unknown ver; its answer serves every resource
  // announcing the same ver.
  for (auto& [id, q] : queries)
    if (q.second.ver == c.ver)
      return;
  if (queries.size() >= max_queries)
    queries.clear();
  auto id = make_id("pep-caps-");
  queries.emplace(id, std::make_pair(full, c));
  auto iq = std::make_shared<xml::element>("iq", ns::client);
  iq->set_attr("type", "get").set_attr("id", id);
  iq->set_attr("from", domain).set_attr("to", full.str());
  iq->add_child(xml::element{"query", ns::disco_info})
    .set_attr("node", c.node + "#" + c.ver);
  if (session)
    self->send(session, msg::deliver_local{std::move(iq)});
  else if (router) // a contact outside the vhost (contacts.cpp)
    self->send(router->shard_for(full),
               msg::route{std::move(iq), jid::parse(domain).value_or(jid{}),
                          full});
}

bool pep_state::on_response(const hooks::iq_request& r) {
  auto i = queries.find(r.stanza->attr_or("id"));
  if (i == queries.end() || i->second.first != r.from)
    return false;
  auto [full, c] = i->second;
  queries.erase(i);
  auto q = r.stanza->child("query", ns::disco_info);
  if (r.stanza->attr_or("type") != "result" || q == nullptr)
    return true;
  auto f = features_of(*q);
  bool ok = verified(c, *q);
  if (ok)
    caps.put(c.ver, f);
  else
    spdlog::debug("{}: vhost {}: caps of {} not verified ({}); used for "
                  "that resource only",
                  tag, domain, full.str(), c.hash);
  std::vector<jid> known;
  for (auto& [bare, resources] : online)
    for (auto& [name, res] : resources)
      if (res.available && res.caps && res.caps->ver == c.ver
          && !res.features) {
        auto j = jid::parse(bare + "/" + name);
        if (j && (ok || *j == full)) {
          res.features = f;
          known.push_back(*j);
        }
      }
  for (auto& j : known)
    features_known(j);
  known.clear();
  for (auto& [bare, resources] : contacts) // contacts.cpp
    for (auto& [name, res] : resources)
      if (res.caps && res.caps->ver == c.ver && !res.features) {
        auto j = jid::parse(bare + "/" + name);
        if (j && (ok || *j == full)) {
          res.features = f;
          known.push_back(*j);
        }
      }
  for (auto& j : known)
    contact_features_known(j);
  return true;
}

bool pep_state::wants(const jid& full, const std::string& node) const {
  auto notify = node + "+notify";
  if (auto u = online.find(full.bare().str()); u != online.end())
    if (auto r = u->second.find(full.resource()); r != u->second.end())
      return r->second.available && r->second.features
             && r->second.features->count(notify) > 0;
  auto c = contact(full); // contacts.cpp
  return c && c->features && c->features->count(notify) > 0;
}

void pep_state::send_last_items(const jid& owner, const jid& full) {
  auto names = node_sizes(owner.local());
  if (!names)
    return;
  for (auto& [name, size] : *names) {
    if (!wants(full, name))
      continue;
    auto n = load(owner.local(), name);
    if (!n || !*n || (*n)->config.send_last != "on_sub_and_presence")
      continue;
    if ((*n)->config.model == access::whitelist && owner != full.bare()
        && (*n)->members.count(full.bare().str()) == 0)
      continue;
    send_last(owner, **n, full);
  }
}

void pep_state::features_known(const jid& full) {
  // The last item of every node it wants, of its own account and of
  // the contacts whose presence it receives (they have it as from/both).
  send_last_items(full.bare(), full);
  self->request(vhost, std::chrono::seconds(10), hooks::roster_get{full.bare()})
    .then(
      [this, full](hooks::roster& ros) {
        for (auto& item : ros.items)
          if (item.subscribed_to() && item.contact.domain() == domain
              && !item.contact.local().empty())
            send_last_items(item.contact, full);
      },
      [](caf::error&) {});
}

void pep_state::broadcast(const jid& owner, const node& n,
                          const xml::element& ev) {
  auto sent = std::make_shared<std::set<std::string>>();
  auto event = std::make_shared<xml::element>(ev);
  auto to = [this, owner, sent, event](const jid& full) {
    if (sent->insert(full.str()).second)
      send_event(owner, *event, full);
  };
  auto name = n.name;
  auto filtered = [this, to, name](const std::string& bare) {
    for (auto& j : resources_of(bare))
      if (wants(j, name))
        to(j);
  };
  filtered(owner.str());
  for (auto& s : n.subscribers) { // explicit: whatever the caps say
    auto j = jid::parse(s);
    if (!j)
      continue;
    if (j->is_full())
      to(*j);
    else
      for (auto& r : resources_of(s))
        to(r);
  }
  for (auto& m : n.members)
    filtered(m);
  if (n.config.model == access::whitelist)
    return;
  self->request(vhost, std::chrono::seconds(10), hooks::roster_get{owner})
    .then(
      [this, filtered](hooks::roster& ros) {
        // Contacts here and elsewhere (contacts.cpp: other vhosts,
        // remote servers, other cluster nodes).
        for (auto& item : ros.items)
          if (item.subscribed_from() && !item.contact.local().empty())
            filtered(item.contact.str());
      },
      [this](caf::error& err) {
        spdlog::error("{}: vhost {}: roster unavailable for a "
                      "notification: {}",
                      tag, domain, caf::to_string(err));
      });
}

void pep_state::send_last(const jid& owner, const node& n, const jid& to) {
  if (n.items.empty())
    return;
  auto& it = n.items.back();
  xml::element ev{"event", ns_event};
  auto& items = ev.add_child(xml::element{"items", ns_event});
  items.set_attr("node", n.name);
  auto& e = items.add_child(xml::element{"item", ns_event});
  e.set_attr("id", it.id).set_attr("publisher", it.publisher);
  e.add_child(it.payload);
  send_event(owner, ev, to);
}

void pep_state::send_event(const jid& owner, const xml::element& ev,
                           const jid& to) {
  caf::actor session;
  if (auto u = online.find(to.bare().str()); u != online.end())
    if (auto r = u->second.find(to.resource()); r != u->second.end())
      session = r->second.session;
  if (!session && (!router || !contact(to)))
    return;
  // XEP-0163 §4.3: from the account's bare JID; headline, as
  // notifications are not stored offline.
  auto m = std::make_shared<xml::element>("message", ns::client);
  m->set_attr("from", owner.bare().str()).set_attr("to", to.str());
  m->set_attr("type", "headline").set_attr("id", make_id("pep-"));
  m->add_child(ev);
  if (session)
    self->send(session, msg::deliver_local{std::move(m)});
  else // a contact outside the vhost (contacts.cpp)
    self->send(router->shard_for(to), msg::route{std::move(m), owner.bare(),
                                                  to});
}

} // namespace dja::plugins::pep
