// Presence on a session (RFC 6121 §3, §4): the broadcast of the user's
// own presence to subscribed contacts, probes, directed presence, and
// outbound subscription stanzas with their roster updates. Inbound
// subscriptions are handled by the router (router/subscriptions.cpp),
// which owns the user's sessions.

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

bool subscribed_from(const hooks::roster_item& i) {
  return i.subscription == "from" || i.subscription == "both";
}

bool subscribed_to(const hooks::roster_item& i) {
  return i.subscription == "to" || i.subscription == "both";
}

} // namespace

void session_state::broadcast_presence(const xml::element& e) {
  auto type = e.attr_or("type");
  bool was_available = available;
  if (type.empty()) {
    available = true;
    priority = 0;
    if (auto p = e.child("priority", ns::client)) {
      try {
        priority = std::stoi(p->text());
      } catch (...) {
        reply_error(e, "bad-request");
        return;
      }
      priority = std::max(-128, std::min(127, priority));
    }
  } else if (type == "unavailable") {
    available = false;
  } else {
    // RFC 6121 §4.7.1: no other type makes sense without a `to`.
    reply_error(e, "bad-request");
    return;
  }
  auto out = std::make_shared<xml::element>(e);
  out->set_attr("from", full.str());
  out->remove_attr("to");
  last_presence = available ? xml::element_ptr{out} : nullptr;
  self->send(ctx->router.shard_for(full),
             msg::presence_state{full, self, available, priority,
                                 last_presence});
  if (available && priority >= 0 && !offline_fetched)
    fetch_offline();
  // RFC 6121 §4.2.2 / §4.4.2: the user's own available resources get it
  // too, the sender included.
  auto own = std::make_shared<xml::element>(*out);
  own->set_attr("to", bare.str());
  route(std::move(own), bare);
  if (!vhost_has_roster())
    return;
  to_contacts(out, available && !was_available);
  if (!available) {
    // §4.6.3: directed presence recipients learn that we left.
    for (auto& j : directed)
      if (auto to = jid::parse(j)) {
        auto u = std::make_shared<xml::element>(*out);
        u->set_attr("to", j);
        route(std::move(u), *to);
      }
    directed.clear();
  }
}

void session_state::to_contacts(xml::element_ptr pres, bool initial,
                                std::function<void()> done) {
  self->request(vhost->actor, std::chrono::seconds(30), hooks::roster_get{bare})
    .then(
      [this, pres, initial, done](hooks::roster& r) {
        for (auto& item : r.items) {
          if (subscribed_from(item)) { // §4.2.2, §4.4.2, §4.5.2
            auto p = std::make_shared<xml::element>(*pres);
            p->set_attr("to", item.contact.str());
            route(std::move(p), item.contact);
          }
          if (!initial)
            continue;
          if (subscribed_to(item)) { // §4.2.1: probe
            auto probe = std::make_shared<xml::element>("presence",
                                                        ns::client);
            probe->set_attr("type", "probe");
            probe->set_attr("from", bare.str());
            probe->set_attr("to", item.contact.str());
            route(std::move(probe), item.contact);
          }
          if (item.pending_in) { // §3.1.3: a request that waited
            auto req = std::make_shared<xml::element>("presence", ns::client);
            req->set_attr("type", "subscribe");
            req->set_attr("from", item.contact.str());
            req->set_attr("to", bare.str());
            to_client(std::move(req));
          }
        }
        if (done)
          done();
      },
      [this, done](caf::error& err) {
        spdlog::error("{}: roster unavailable for presence: {}", full.str(),
                      caf::to_string(err));
        if (done)
          done();
      });
}

void session_state::send_unavailable_to_contacts(std::function<void()> done) {
  auto u = std::make_shared<xml::element>("presence", ns::client);
  u->set_attr("type", "unavailable");
  u->set_attr("from", full.str());
  to_contacts(u, false, std::move(done));
  for (auto& j : directed)
    if (auto to = jid::parse(j)) {
      auto d = std::make_shared<xml::element>(*u);
      d->set_attr("to", j);
      route(std::move(d), *to);
    }
  directed.clear();
}

bool session_state::on_directed_presence(const xml::element_ptr& e,
                                         const jid& to) {
  auto type = e->attr_or("type");
  if (type == "subscribe" || type == "subscribed" || type == "unsubscribe"
      || type == "unsubscribed") {
    if (vhost_has_roster()) {
      // One at a time: each is a read-modify-write of a roster item.
      out_subs.emplace_back(e, to.bare());
      if (out_subs.size() == 1)
        outbound_subscription(e, to.bare(), type);
    } else
      route(e, to.bare());
    return true;
  }
  if (type.empty() || type == "unavailable") {
    // §4.6: directed presence; remembered so that our unavailable
    // reaches it too.
    if (type.empty())
      directed.insert(to.str());
    else
      directed.erase(to.str());
    return false;
  }
  if (type == "probe" || type == "error")
    return false;
  reply_error(*e, "bad-request"); // §4.7.1: an unknown type
  return true;
}

void session_state::outbound_subscription(const xml::element_ptr& e,
                                          const jid& contact,
                                          const std::string& type) {
  // §3.1.2 etc.: the server stamps the bare JID on subscription stanzas.
  auto out = std::make_shared<xml::element>(*e);
  out->set_attr("from", bare.str());
  out->set_attr("to", contact.str());
  self
    ->request(vhost->actor, caf::infinite,
              hooks::roster_load_item{bare, contact})
    .then(
      [this, out, contact, type](std::vector<hooks::roster_item>& found) {
        hooks::roster_item item;
        if (!found.empty())
          item = found.front();
        item.contact = contact;
        auto before = item;
        bool forward = true;
        if (type == "subscribe") {
          if (!subscribed_to(item))
            item.ask_out = true; // None -> None + Pending Out, etc.
        } else if (type == "unsubscribe") {
          item.ask_out = false;
          if (item.subscription == "to")
            item.subscription = "none";
          else if (item.subscription == "both")
            item.subscription = "from";
        } else if (type == "subscribed") {
          if (item.pending_in) {
            item.pending_in = false;
            item.subscription = item.subscription == "to" ? "both" : "from";
          } else if (!subscribed_from(item)) {
            item.approved = true; // §3.4: pre-approval, not forwarded
            forward = false;
          } else {
            forward = false; // already subscribed: nothing to say
          }
        } else { // unsubscribed
          forward = subscribed_from(item) || item.pending_in;
          item.pending_in = false;
          item.approved = false;
          if (item.subscription == "from")
            item.subscription = "none";
          else if (item.subscription == "both")
            item.subscription = "to";
        }
        bool changed = item.subscription != before.subscription
                       || item.ask_out != before.ask_out
                       || item.pending_in != before.pending_in
                       || item.approved != before.approved;
        if (changed)
          store_item(item, [this] { next_outbound(); });
        else
          next_outbound();
        if (forward)
          route(out, contact);
        if (type == "unsubscribed" && forward)
          // §3.2.2: the former subscriber sees us go offline.
          self->send(ctx->router.shard_for(bare),
                     msg::unavailable_to{bare, contact});
        if (type == "subscribed" && forward && last_presence) {
          // §3.1.5: the new subscriber gets our current presence.
          auto p = std::make_shared<xml::element>(*last_presence);
          p->set_attr("to", contact.str());
          route(std::move(p), contact);
        }
      },
      [this, e](caf::error&) {
        reply_error(*e, "internal-server-error");
        next_outbound();
      });
}

void session_state::next_outbound() {
  if (out_subs.empty())
    return;
  out_subs.pop_front();
  if (out_subs.empty())
    return;
  auto& [e, contact] = out_subs.front();
  outbound_subscription(e, contact, e->attr_or("type"));
}

} // namespace dja
