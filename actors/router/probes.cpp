// Presence between a user and one contact, as the router shard of the
// user sees it: probes answered from the presence of each available
// resource (RFC 6121 §4.3.2), the `presence.check` hook for probes, the
// user's presence or unavailability sent to a contact (§3.1.5, §3.2.2,
// §3.3.3, XEP-0191 §3.4), and the XEP-0191 §3.3 rule that a blocked JID's
// subscriptions and probes get no answer.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "router/shard.hpp"

namespace dja {

void shard_state::unless_blocked(const msg::route& r,
                                 std::function<void()> dropped,
                                 std::function<void()> k) {
  if (!blocking || blocking->count(r.to.domain()) == 0 || r.from.empty()) {
    k();
    return;
  }
  self
    ->request(vhost_of(r.to), caf::infinite,
              hooks::blocking_check{r.to.bare(), r.from})
    .then(
      [dropped, k](bool blocked) {
        if (blocked)
          dropped();
        else
          k();
      },
      [dropped, to = r.to](caf::error& err) {
        // A failed check drops it, like a blocked one.
        spdlog::error("blocking.check for {} failed: {}", to.bare_str(),
                      caf::to_string(err));
        dropped();
      });
}

void shard_state::inbound_probe(msg::route& r) {
  auto user = r.to.bare();
  auto prober = r.from;
  auto v = vhost_of(user);
  if (!v || prober.empty())
    return;
  self
    ->request(v, caf::infinite, hooks::roster_load_item{user, prober.bare()})
    .then(
      [this, user, prober](std::vector<hooks::roster_item>& found) {
        // §4.3.2: only a subscribed prober learns anything.
        if (found.empty() || !state_of(&found.front()).from())
          return;
        auto& shard = shard_of(prober);
        // Resources on other nodes answer from the directory's copy of
        // their last presence (no hop).
        for (auto& [from, presence] : remote_presences(user)) {
          auto p = std::make_shared<xml::element>(*presence);
          p->set_attr("to", prober.str());
          self->send(shard, msg::route{p, from, prober});
        }
        auto rs = find_user(user);
        if (rs == nullptr)
          return;
        for (auto& e : *rs)
          if (e.available && e.presence) {
            auto p = std::make_shared<xml::element>(*e.presence);
            p->set_attr("to", prober.str());
            self->send(shard,
                       msg::route{p, user.with_resource(e.resource), prober});
          }
      },
      [](caf::error&) {});
}

const vhost_info* shard_state::presence_checker(const msg::route& r) const {
  for (auto* d : {&r.to.domain(), &r.from.domain()}) {
    auto v = vhosts->find(*d);
    if (v != vhosts->end())
      return v->second.serves<hooks::presence_check>() ? &v->second
                                                        : nullptr;
  }
  return nullptr;
}

bool shard_state::check_presence(const msg::route& r) {
  auto v = presence_checker(r);
  if (v == nullptr || r.from.empty())
    return false;
  bool remote = vhosts->count(r.to.domain()) == 0;
  auto probe = r.stanza;
  auto prober = r.from;
  auto contact = r.to.bare();
  self
    ->request(v->actor, caf::infinite, hooks::presence_check{prober, contact})
    .then(
      [this, probe, prober, contact,
       remote](hooks::answer<std::vector<xml::element_ptr>>& a) {
        if (a.declined) {
          if (remote)
            bounce(*probe, prober, "remote-server-not-found");
          return;
        }
        for (auto& p : a.value) {
          // Availability only (§4.3.2): never a subscription stanza in
          // the contact's name.
          if (!p || p->name != "presence"
              || (p->attr("type") && p->attr_or("type") != "unavailable"))
            continue;
          auto out = std::make_shared<xml::element>(*p);
          auto from = jid::parse(out->attr_or("from"));
          if (!from || from->bare() != contact)
            from = contact;
          out->ns = "jabber:client";
          out->set_attr("from", from->str());
          out->set_attr("to", prober.str());
          self->send(shard_of(prober), msg::route{out, *from, prober});
        }
      },
      [this, probe, prober, remote](caf::error&) {
        if (remote)
          bounce(*probe, prober, "remote-server-not-found");
      });
  return remote;
}

void shard_state::send_presences(const jid& user, const jid& contact,
                                 bool unavailable) {
  std::vector<std::pair<jid, xml::element_ptr>> all = remote_presences(user);
  if (auto rs = find_user(user))
    for (auto& e : *rs)
      if (e.available && e.presence)
        all.emplace_back(user.with_resource(e.resource), e.presence);
  for (auto& [from, presence] : all) {
    auto p = unavailable
               ? std::make_shared<xml::element>("presence", "jabber:client")
               : std::make_shared<xml::element>(*presence);
    if (unavailable)
      p->set_attr("type", "unavailable");
    p->set_attr("from", from.str());
    p->set_attr("to", contact.str());
    self->send(shard_of(contact), msg::route{p, from, contact});
  }
}

void shard_state::unavailable_to(const msg::unavailable_to& u) {
  auto& shard = shard_of(u.contact);
  auto send = [&](const jid& from) {
    auto p = std::make_shared<xml::element>("presence", "jabber:client");
    p->set_attr("type", "unavailable");
    p->set_attr("from", from.str());
    p->set_attr("to", u.contact.str());
    self->send(shard, msg::route{p, from, u.contact});
  };
  for (auto& rp : remote_presences(u.user))
    send(rp.first);
  // Every available resource, also one whose broadcast a plugin dropped.
  if (auto rs = find_user(u.user))
    for (auto& e : *rs)
      if (e.available)
        send(u.user.with_resource(e.resource));
}

} // namespace dja
