// Presence on a session (RFC 6121 §3, §4): the broadcast of the user's
// own presence to subscribed contacts, probes, directed presence, and
// outbound subscription stanzas with their roster updates. Inbound
// subscriptions are handled by the router (router/router.cpp), which
// owns the user's sessions. Broadcasts pass the presence.alter_* folds
// and initial presence is announced (presence.initial) to the plugins.

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "session/session_state.hpp"

namespace dja {

void session_state::broadcast_presence(const xml::element& e) {
  auto type = e.attr_or("type");
  bool was_available = available;
  if (type.empty()) {
    int prio = 0;
    if (auto p = e.child("priority", ns::client)) {
      try {
        prio = std::stoi(p->text());
      } catch (...) {
        reply_error(e, "bad-request"); // and nothing changes
        return;
      }
      prio = std::max(-128, std::min(127, prio));
    }
    available = true;
    priority = prio;
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
  // XEP-0012 §4: the status of the last unavailable presence is the
  // user's last words (session.closed carries it).
  unavailable_status.clear();
  if (!available)
    if (auto st = e.child("status", ns::client))
      unavailable_status = st->text();
  bool initial = available && !was_available;
  alter_presence(out, available, [this, out, initial](xml::element_ptr p) {
    finish_broadcast(std::move(p), out, initial);
  });
}

void session_state::alter_presence(xml::element_ptr pres, bool avail,
                                   std::function<void(xml::element_ptr)> k) {
  bool has = vhost != nullptr
             && (avail ? vhost->serves<hooks::presence_alter_available>()
                       : vhost->serves<hooks::presence_alter_unavailable>());
  if (!has) {
    k(std::move(pres));
    return;
  }
  // await, not then: nothing else of this session (its client's next
  // stanzas, a close) may overtake the broadcast. The vhost always
  // answers (every plugin has a timeout); the bound is a backstop.
  auto on_verdict = [k](hooks::filter_verdict& v) { k(std::move(v.stanza)); };
  auto on_error = [this, pres, k](caf::error& err) {
    spdlog::error("{}: presence not altered: {}", full.str(),
                  caf::to_string(err));
    k(pres);
  };
  constexpr auto bound = std::chrono::seconds(30);
  if (avail)
    self
      ->request(vhost->actor, bound,
                hooks::presence_alter_available{pres, full})
      .await(on_verdict, on_error);
  else
    self
      ->request(vhost->actor, bound,
                hooks::presence_alter_unavailable{pres, full})
      .await(on_verdict, on_error);
}

void session_state::finish_broadcast(xml::element_ptr out,
                                     const xml::element_ptr& original,
                                     bool initial) {
  // `out` null: a plugin dropped the broadcast. Nobody hears it (probes
  // neither), but the resource's availability and priority still count
  // for delivery (RFC 6121 §8.5).
  last_presence = available ? out : nullptr;
  self->send(ctx->router.shard_for(full),
             msg::presence_state{full, self, available, priority,
                                 last_presence});
  if (available && priority >= 0 && !offline_fetched)
    fetch_offline();
  if (initial && vhost != nullptr)
    self->send(vhost->actor,
               hooks::presence_initial{full, out ? out : original});
  if (out) {
    // RFC 6121 §4.2.2 / §4.4.2: the user's own available resources get
    // it too, the sender included.
    auto own = std::make_shared<xml::element>(*out);
    own->set_attr("to", bare.str());
    route(std::move(own), bare);
  }
  if (!vhost_has_roster())
    return;
  to_contacts(out, initial);
  if (!available && out) {
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
  ++broadcasts_in_flight;
  auto settle = [this] {
    // A session that closes waits for its broadcasts (an explicit
    // unavailable followed at once by the stream's end).
    if (--broadcasts_in_flight == 0 && on_settled) {
      auto f = std::move(on_settled);
      on_settled = nullptr;
      f();
    }
  };
  done = [done, settle] {
    if (done)
      done();
    settle();
  };
  if (!pres && !initial) { // dropped by a plugin: nothing to send
    done();
    return;
  }
  self->request(vhost->actor, std::chrono::seconds(30), hooks::roster_get{bare})
    .then(
      [this, pres, initial, done](hooks::roster& r) {
        for (auto& item : r.items) {
          if (blocked.matches(item.contact))
            continue; // XEP-0191 §3.3: nothing to or from a blocked JID
          if (pres && item.subscribed_from()) { // §4.2.2, §4.4.2, §4.5.2
            auto p = std::make_shared<xml::element>(*pres);
            p->set_attr("to", item.contact.str());
            route(std::move(p), item.contact);
          }
          if (!initial)
            continue;
          if (item.subscribed_to()) { // §4.2.1: probe
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
        done();
      },
      [this, done](caf::error& err) {
        spdlog::error("{}: roster unavailable for presence: {}", full.str(),
                      caf::to_string(err));
        done();
      });
}

void session_state::send_unavailable_to_contacts(std::function<void()> done) {
  auto u = std::make_shared<xml::element>("presence", ns::client);
  u->set_attr("type", "unavailable");
  u->set_attr("from", full.str());
  alter_presence(u, false, [this, done](xml::element_ptr p) {
    to_contacts(p, false, done);
    if (p)
      for (auto& j : directed)
        if (auto to = jid::parse(j)) {
          auto d = std::make_shared<xml::element>(*p);
          d->set_attr("to", j);
          route(std::move(d), *to);
        }
    directed.clear();
  });
}

bool session_state::on_directed_presence(const xml::element_ptr& e,
                                         const jid& to) {
  auto type = e->attr_or("type");
  if (type == "subscribe" || type == "subscribed" || type == "unsubscribe"
      || type == "unsubscribed") {
    if (vhost_has_roster()) {
      // §3.1.2 etc.: stamped with the bare JID. The user's router shard
      // updates the roster, in order with inbound subscription stanzas.
      auto out = std::make_shared<xml::element>(*e);
      out->set_attr("from", bare.str());
      out->set_attr("to", to.bare().str());
      self->send(ctx->router.shard_for(bare),
                 msg::outbound_subscription{bare, to.bare(), std::move(out)});
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

} // namespace dja
