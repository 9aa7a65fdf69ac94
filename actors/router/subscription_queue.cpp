// RFC 6121 §3 in a router shard: the subscription stanzas a user sends
// and receives, one at a time per user (each is a read-modify-write of a
// roster item). The transition itself is subscription.hpp's (Appendix
// A); here the item is loaded and stored through the roster hooks, and
// the effects are carried out: the stanza routed or delivered, the
// server's own <subscribed/>, the user's presence to the contact, the
// roster push. Inbound requests beyond limits.max_pending_subscriptions
// are dropped; an outbound request her own roster cannot hold
// (roster.max_items) is refused to her with <not-allowed/>.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/quota.hpp"
#include "common/roster_xml.hpp"
#include "router/shard.hpp"

namespace dja {

subscription::state state_of(const hooks::roster_item* item) {
  subscription::state s;
  if (item != nullptr) {
    s.sub = subscription::parse_flow(item->subscription);
    s.pending_out = item->ask_out;
    s.pending_in = item->pending_in;
    s.approved = item->approved;
    s.listed = item->listed;
  }
  return s;
}

void set_state(hooks::roster_item& item, const subscription::state& s) {
  item.subscription = subscription::to_string(s.sub);
  item.ask_out = s.pending_out;
  item.pending_in = s.pending_in;
  item.approved = s.approved;
  item.listed = s.listed;
}

void shard_state::enqueue(const std::string& key, queued q) {
  auto& dq = sub_queue[key];
  dq.push_back(std::move(q));
  if (dq.size() == 1)
    next_subscription(key);
}

void shard_state::subscription_done(const std::string& key) {
  auto i = sub_queue.find(key);
  if (i == sub_queue.end())
    return;
  i->second.pop_front();
  if (i->second.empty())
    sub_queue.erase(i);
  else
    next_subscription(key);
}

void shard_state::next_subscription(const std::string& key) {
  auto q = sub_queue[key].front();
  auto done = [this, key] { subscription_done(key); };
  auto k = subscription::parse_kind(q.r.stanza->attr_or("type"));
  if (q.kind == queued::presence || !k) {
    route_now(q.r);
    done();
  } else if (q.kind == queued::outbound) {
    outbound_subscription(q.r, *k, done);
  } else {
    unless_blocked(q.r, done, [this, q, k = *k, done] {
      inbound_subscription(q.r, k, done);
    });
  }
}

void shard_state::outbound_subscription(const msg::route& r,
                                        subscription::kind k,
                                        std::function<void()> done) {
  auto user = r.from.bare();
  auto contact = r.to.bare();
  auto v = vhost_of(user);
  auto out = r.stanza;
  self->request(v, caf::infinite, hooks::roster_load_item{user, contact})
    .then(
      [this, v, user, contact, out, k, sender = r.from,
       done](std::vector<hooks::roster_item>& found) {
        auto known = found.empty() ? nullptr : &found.front();
        auto item = known ? *known : hooks::roster_item{};
        item.contact = contact;
        auto o = subscription::outbound(state_of(known), k);
        // Forwarded once stored: a request the user's roster cannot
        // hold (roster.max_items) is refused to her, not sent on with
        // no trace on her side.
        auto stored = [this, out, user, contact, fx = o.fx] {
          if (fx.forward)
            self->send(shard_of(contact), msg::route{out, user, contact});
          if (fx.presence != subscription::presence_to_contact::nothing)
            send_presences(user, contact,
                           fx.presence
                             == subscription::presence_to_contact::unavailable);
        };
        auto failed = [this, out, sender](const caf::error& err) {
          // RFC 6120 §8.3.3.12 for a bound, as a roster set gets it.
          bounce(*out, sender, is_quota_reached(err) ? "not-allowed"
                                                   : "internal-server-error");
        };
        store(v, user, std::move(item), o, stored, done, failed);
      },
      [done](caf::error&) { done(); });
}

void shard_state::inbound_subscription(const msg::route& r,
                                       subscription::kind k,
                                       std::function<void()> done) {
  auto user = r.to.bare();
  auto contact = r.from.bare();
  auto v = vhost_of(user);
  if (!v || contact.empty()) {
    done();
    return;
  }
  auto stanza = std::make_shared<xml::element>(*r.stanza);
  stanza->set_attr("from", contact.str()); // §3.1.3: bare JIDs
  stanza->set_attr("to", user.str());
  self->request(v, caf::infinite, hooks::roster_load_item{user, contact})
    .then(
      [this, v, user, contact, stanza, k,
       done](std::vector<hooks::roster_item>& found) {
        auto known = found.empty() ? nullptr : &found.front();
        auto item = known ? *known : hooks::roster_item{};
        item.contact = contact;
        auto before = state_of(known);
        auto apply = [this, v, user, contact, stanza, k, done, item,
                      before]() mutable {
          auto o = subscription::inbound(before, k);
          // Delivered once the roster is stored: the user's answer may
          // be handled by another node of a cluster, which reads the
          // store. Not delivered: kept as Pending In.
          auto stored = [this, user, stanza, deliver = o.fx.deliver] {
            if (deliver)
              to_available(user, stanza);
          };
          store(v, user, std::move(item), o, stored, done,
                [](const caf::error&) {});
          if (o.fx.presence == subscription::presence_to_contact::unavailable)
            send_presences(user, contact, true); // §3.3.3
          if (o.fx.reply_subscribed) {
            auto ok = std::make_shared<xml::element>("presence",
                                                     "jabber:client");
            ok->set_attr("type", "subscribed");
            ok->set_attr("from", user.str());
            ok->set_attr("to", contact.str());
            self->send(shard_of(contact), msg::route{ok, user, contact});
          }
        };
        if (subscription::adds_request(before, k))
          unless_too_many_requests(v, user, contact, apply, done);
        else
          apply();
      },
      [done](caf::error&) { done(); });
}

void shard_state::unless_too_many_requests(const caf::actor& v,
                                           const jid& user,
                                           const jid& contact,
                                           std::function<void()> k,
                                           std::function<void()> done) {
  auto max = bounds.max_pending_subscriptions;
  self->request(v, caf::infinite, hooks::roster_get{user})
    .then(
      [user, contact, max, k, done](hooks::roster& r) {
        size_t pending = 0;
        for (auto& item : r.items)
          pending += item.pending_in ? 1 : 0;
        if (pending < max) {
          k();
          return;
        }
        // Dropped without an answer, as Prosody drops a request it
        // cannot store: the sender learns nothing about the user.
        spdlog::warn("subscription request from {} to {} dropped: {} "
                     "requests pending (limits.max_pending_subscriptions)",
                     contact.str(), user.str(), pending);
        done();
      },
      [user, done](caf::error& err) {
        spdlog::error("roster of {} not read: {}", user.str(),
                      caf::to_string(err));
        done();
      });
}

void shard_state::store(const caf::actor& v, const jid& user,
                        hooks::roster_item item,
                        const subscription::outcome& o,
                        std::function<void()> stored,
                        std::function<void()> done,
                        std::function<void(const caf::error&)> failed) {
  auto log_error = [user, done, failed](caf::error& err) {
    if (is_quota_reached(err))
      spdlog::warn("roster of {} not updated: {}", user.str(),
                   caf::to_string(err));
    else
      spdlog::error("roster of {} not updated: {}", user.str(),
                    caf::to_string(err));
    failed(err);
    done();
  };
  switch (o.fx.store) {
    case subscription::store_op::keep:
      stored();
      done();
      break;
    case subscription::store_op::remove:
      // A request alone leaves no trace (never in the roster: no push).
      self
        ->request(v, caf::infinite,
                  hooks::roster_remove_item{user, item.contact})
        .then([stored, done](std::string&) {
                stored();
                done();
              },
              [user, stored, done](caf::error& err) {
                // Not a bound (removing adds nothing): the transition
                // goes on, the failure is logged.
                spdlog::error("roster of {} not updated: {}", user.str(),
                              caf::to_string(err));
                stored();
                done();
              });
      break;
    case subscription::store_op::save:
      set_state(item, o.next);
      self->request(v, caf::infinite, hooks::roster_set_item{user, item})
        .then(
          [this, user, item, push_it = o.fx.push, stored,
           done](std::string& version) {
            stored();
            if (push_it)
              push(user, roster_xml::push(item, version, false));
            done();
          },
          log_error);
      break;
  }
}

} // namespace dja
