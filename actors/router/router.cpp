#include "router/router.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "cluster/messages.hpp"
#include "cluster/node.hpp"
#include "common/errors.hpp"
#include "common/server_context.hpp"
#include "common/roster_xml.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

namespace {

/// One bound resource of a user.
struct resource_entry {
  std::string resource;
  caf::actor session;
  bool available = false;
  int priority = 0;
  xml::element_ptr presence; ///< last available presence (for probes)
};



struct shard_state {
  static inline const char* name = "router";

  caf::stateful_actor<shard_state>* self = nullptr;
  std::shared_ptr<const vhost_table> vhosts;
  std::shared_ptr<const domain_set> blocking; ///< may be null
  router_ref router; ///< all shards, to route onwards
  caf::actor s2s;    ///< remote domains; null: no federation
  std::shared_ptr<const cluster::link> cluster; ///< null: a single node

  const caf::actor& shard_of(const jid& j) const {
    return router.shard_for(j);
  }
  /// bare JID string -> bound resources.
  std::unordered_map<std::string, std::vector<resource_entry>> users;

  std::vector<resource_entry>* find_user(const jid& j) {
    auto i = users.find(j.bare_str());
    return i == users.end() ? nullptr : &i->second;
  }

  resource_entry* find(const jid& full) {
    if (auto rs = find_user(full))
      for (auto& e : *rs)
        if (e.resource == full.resource())
          return &e;
    return nullptr;
  }

  /// Sends an error for `stanza` back to its sender (never for errors).
  void bounce(const xml::element& stanza, const jid& from,
              std::string_view condition) {
    if (errors::is_error(stanza) || from.empty())
      return;
    auto reply = errors::stanza_error(stanza, condition);
    auto to = jid::parse(reply->attr_or("to"));
    if (!to)
      return;
    self->send(shard_of(*to), msg::route{reply, jid{}, *to});
  }

  void bind(msg::bind& b, bool& replaced) {
    auto& rs = users[b.full.bare_str()];
    for (auto& e : rs) {
      if (e.resource == b.full.resource()) {
        // RFC 6120 §7.7.2.2: the newer session wins; the old one gets a
        // <conflict/> stream error.
        self->send(e.session, conflict_atom::value);
        e = resource_entry{b.full.resource(), b.session, false, 0};
        replaced = true;
        return;
      }
    }
    rs.push_back(resource_entry{b.full.resource(), b.session, false, 0});
  }

  void unbind(const msg::unbind& u) {
    auto i = users.find(u.full.bare_str());
    if (i == users.end())
      return;
    auto& rs = i->second;
    rs.erase(std::remove_if(rs.begin(), rs.end(),
                            [&](const resource_entry& e) {
                              return e.resource == u.full.resource()
                                     && e.session == u.session;
                            }),
             rs.end());
    if (rs.empty())
      users.erase(i);
  }

  // --- other nodes of the cluster (see docs/cluster.md) ---

  /// The user's resources bound on other nodes (none without a cluster).
  std::vector<cluster::entry> remote_of(const jid& user) const {
    if (!cluster)
      return {};
    return cluster->dir->find(user.bare_str());
  }

  /// Hands `stanza` to the node actor for `node`; `done(taken)` runs
  /// here once the other node acknowledged it, refused it, or timed out.
  void hop(const std::string& node, cluster::deliver_mode mode,
           const xml::element_ptr& stanza, const jid& to,
           std::function<void(bool)> done) {
    self
      ->request(cluster->node, caf::infinite,
                cluster::forward{node, mode, stanza, to})
      .then([done](bool taken) { done(taken); },
            [done](caf::error&) { done(false); });
  }

  /// To every other node holding a resource of `user` that `mode`
  /// selects; nothing is retried (presence and pushes).
  void remote_fanout(const jid& user, cluster::deliver_mode mode,
                     const xml::element_ptr& stanza) {
    std::vector<std::string> nodes;
    for (auto& e : remote_of(user)) {
      bool wanted = mode == cluster::deliver_mode::push
                    || (e.available
                        && (mode == cluster::deliver_mode::available
                            || e.priority >= 0));
      if (wanted
          && std::find(nodes.begin(), nodes.end(), e.node) == nodes.end())
        nodes.push_back(e.node);
    }
    for (auto& n : nodes)
      hop(n, mode, stanza, user.bare(), [](bool) {});
  }

  /// A full JID not bound here: to the node that holds it. If the hop
  /// fails, a message goes to the user's other resources here or to
  /// offline storage, an iq request is answered with an error.
  bool remote_full(msg::route& r) {
    if (!cluster)
      return false;
    auto e = cluster->dir->find_full(r.to.bare_str(), r.to.resource());
    if (!e)
      return false;
    auto copy = r;
    hop(e->node, cluster::deliver_mode::full, r.stanza, r.to,
        [this, copy](bool taken) mutable {
          if (taken)
            return;
          const auto& kind = copy.stanza->name;
          auto type = copy.stanza->attr_or("type");
          if (kind == "message")
            message_to_bare(copy, true);
          else if (kind == "iq" && (type == "get" || type == "set"))
            bounce(*copy.stanza, copy.from, "service-unavailable");
        });
    return true;
  }

  /// The available presence of each resource of `user` on other nodes,
  /// as (full JID, presence).
  std::vector<std::pair<jid, xml::element_ptr>>
  remote_presences(const jid& user) const {
    std::vector<std::pair<jid, xml::element_ptr>> out;
    for (auto& e : remote_of(user))
      if (e.available && e.presence)
        out.emplace_back(user.with_resource(e.resource), e.presence);
    return out;
  }

  /// No session took it: ask the vhost's `deliver` chain, then bounce.
  void undeliverable(msg::route& r, const char* condition) {
    auto v = vhosts->find(r.to.domain());
    if (v == vhosts->end()) {
      bounce(*r.stanza, r.from, condition);
      return;
    }
    auto stanza = r.stanza;
    auto from = r.from;
    std::string cond = condition;
    self->request(v->second.actor, caf::infinite,
                  hooks::deliver{r.stanza, r.to})
      .then([this, stanza, from, cond](hooks::delivery_verdict& v) {
        if (!v.taken)
          bounce(*stanza, from, v.condition.empty() ? cond : v.condition);
      },
      [this, stanza, from, cond](caf::error&) {
        bounce(*stanza, from, cond);
      });
  }

  /// RFC 6121 §8.5.2: a message to a bare JID. `local_only`: resources
  /// on other nodes are not considered (a hop there just failed).
  void message_to_bare(msg::route& r, bool local_only = false) {
    auto type = r.stanza->attr_or("type", "normal");
    if (type == "error")
      return; // nothing to do: never bounce an error
    if (type == "groupchat") {
      bounce(*r.stanza, r.from, "service-unavailable"); // §8.5.2.1.1
      return;
    }
    std::vector<caf::actor> targets;
    auto remote = local_only ? std::vector<cluster::entry>{} : remote_of(r.to);
    int best = -129;
    for (auto& e : remote)
      if (e.available && e.priority >= 0)
        best = std::max(best, e.priority);
    if (auto rs = find_user(r.to)) {
      for (auto& e : *rs)
        if (e.available && e.priority >= 0)
          best = std::max(best, e.priority);
      for (auto& e : *rs)
        if (e.available && e.priority >= 0
            && (type == "headline" || e.priority == best))
          targets.push_back(e.session);
    }
    for (auto& t : targets)
      self->send(t, msg::deliver_local{r.stanza});
    if (remote_to_bare(r, remote, best, type, !targets.empty())
        || !targets.empty())
      return;
    if (type == "headline")
      return; // §8.5.2.2.1: silently ignored
    undeliverable(r, "service-unavailable");
  }

  /// The resources on other nodes chosen by message_to_bare(); false
  /// when there are none. If every hop fails and no local resource took
  /// the message, it goes to offline storage (or bounces).
  bool remote_to_bare(msg::route& r, const std::vector<cluster::entry>& es,
                      int best, const std::string& type, bool local_taken) {
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
          [this, pending, taken, copy, type](bool ok) mutable {
            *taken = *taken || ok;
            if (--*pending == 0 && !*taken && type != "headline")
              undeliverable(copy, "service-unavailable");
          });
    return true;
  }

  caf::actor vhost_of(const jid& j) {
    auto v = vhosts->find(j.domain());
    return v == vhosts->end() ? caf::actor{} : v->second.actor;
  }

  /// XEP-0191 §3.3: presence from a JID the user blocks (subscriptions,
  /// probes) gets no answer and changes nothing. Runs `k` unless the
  /// recipient of `r` blocks its sender (or the check fails: dropped,
  /// like a blocked one); else `dropped`.
  void unless_blocked(const msg::route& r, std::function<void()> dropped,
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
          spdlog::error("blocking.check for {} failed: {}", to.bare_str(),
                        caf::to_string(err));
          dropped();
        });
  }

  /// Delivers to the available resources of `user` (non-negative
  /// priority, RFC 6121 §3.1.3 / §8.5.2.1).
  bool to_available(const jid& user, const xml::element_ptr& stanza) {
    bool any = false;
    if (cluster)
      remote_fanout(user, cluster::deliver_mode::available_nonneg, stanza);
    if (auto rs = find_user(user))
      for (auto& e : *rs)
        if (e.available && e.priority >= 0) {
          self->send(e.session, msg::deliver_local{stanza});
          any = true;
        }
    return any;
  }

  void push(const jid& user, const hooks::roster_item& item,
            const std::string& version) {
    auto iq = roster_xml::push(item, version, false);
    if (cluster)
      remote_fanout(user, cluster::deliver_mode::push, iq);
    if (auto rs = find_user(user))
      for (auto& e : *rs)
        self->send(e.session, msg::roster_push{iq});
  }

  /// Per user, the subscription stanzas (both directions) and the
  /// presences that arrived behind them, handled one at a time: each
  /// subscription is a read-modify-write of a roster item, and a
  /// presence must not overtake the <subscribed/> before it.
  struct queued {
    enum kind_t { inbound, outbound, presence } kind;
    msg::route r;
  };
  std::unordered_map<std::string, std::deque<queued>> sub_queue;

  void enqueue(const std::string& key, queued q) {
    auto& dq = sub_queue[key];
    dq.push_back(std::move(q));
    if (dq.size() == 1)
      next_subscription(key);
  }

  void inbound_subscription(msg::route& r, const std::string&) {
    enqueue(r.to.bare_str(), queued{queued::inbound, r});
  }

  void subscription_done(const std::string& key) {
    auto i = sub_queue.find(key);
    if (i == sub_queue.end())
      return;
    i->second.pop_front();
    if (i->second.empty())
      sub_queue.erase(i);
    else
      next_subscription(key);
  }

  void next_subscription(const std::string& key) {
    auto q = sub_queue[key].front();
    auto done = [this, key] { subscription_done(key); };
    switch (q.kind) {
      case queued::inbound:
        unless_blocked(q.r, done, [this, q, done]() mutable {
          handle_subscription(q.r, q.r.stanza->attr_or("type"), done);
        });
        break;
      case queued::outbound:
        handle_outbound(q.r, q.r.stanza->attr_or("type"), done);
        break;
      case queued::presence:
        route_now(q.r);
        done();
        break;
    }
  }


  /// RFC 6121 §3.1.2, §3.2.2, §3.3.2, §3.4: the user sent a subscription
  /// stanza; update the user's side of Appendix A and forward it.
  void handle_outbound(msg::route& r, const std::string& type,
                       std::function<void()> done) {
    auto user = r.from.bare();
    auto contact = r.to.bare();
    auto v = vhost_of(user);
    auto out = r.stanza;
    self->request(v, caf::infinite, hooks::roster_load_item{user, contact})
      .then(
        [this, v, user, contact, out, type,
         done](std::vector<hooks::roster_item>& found) {
          hooks::roster_item item;
          bool known = !found.empty();
          if (known)
            item = found.front();
          item.contact = contact;
          auto before = item;
          bool forward = true;
          if (type == "subscribe") {
            if (!item.subscribed_to())
              item.ask_out = true;
          } else if (type == "unsubscribe") {
            item.ask_out = false;
            item.subscription = item.subscription == "both" ? "from" : "none";
            if (before.subscription == "from")
              item.subscription = "from";
          } else if (type == "subscribed") {
            if (item.pending_in) {
              item.pending_in = false;
              item.subscription = item.subscription == "to" ? "both" : "from";
            } else if (!item.subscribed_from()) {
              item.approved = true; // §3.4: pre-approval, not forwarded
              forward = false;
            } else {
              forward = false; // already subscribed: nothing to say
            }
          } else { // unsubscribed
            forward = item.subscribed_from() || item.pending_in;
            item.pending_in = false;
            item.approved = false;
            if (item.subscription == "from")
              item.subscription = "none";
            else if (item.subscription == "both")
              item.subscription = "to";
          }
          item.update_listed();
          if (forward)
            self->send(shard_of(contact), msg::route{out, user, contact});
          if (type == "subscribed" && forward)
            send_presences(user, contact, false); // §3.1.5
          if (type == "unsubscribed" && forward)
            send_presences(user, contact, true); // §3.2.2
          bool changed = item.subscription != before.subscription
                         || item.ask_out != before.ask_out
                         || item.pending_in != before.pending_in
                         || item.approved != before.approved
                         || item.listed != before.listed;
          bool shown = shown_changed(before, item);
          if (!changed) {
            done();
            return;
          }
          if (only_request_left(before, item)) {
            forget(v, user, contact, done);
            return;
          }
          self
            ->request(v, caf::infinite, hooks::roster_set_item{user, item})
            .then(
              [this, user, item, shown, done](std::string& version) {
                if (shown)
                  push(user, item, version);
                done();
              },
              [user, done](caf::error& err) {
                spdlog::error("roster of {} not updated: {}", user.str(),
                              caf::to_string(err));
                done();
              });
        },
        [done](caf::error&) { done(); });
  }

  /// Whether what a roster push shows changed (RFC 6121 §2.1.6: pushes
  /// are for roster changes; Pending In alone is not shown, nor is an
  /// item that is not listed).
  static bool shown_changed(const hooks::roster_item& before,
                            const hooks::roster_item& after) {
    return after.listed
           && (!before.listed || before.subscription != after.subscription
               || before.ask_out != after.ask_out
               || before.approved != after.approved);
  }

  /// RFC 6121 §3.2.2, §3.3.3: a record that only held a request from a
  /// contact the user never added leaves no trace once the request is
  /// denied or withdrawn (not an item with subscription none).
  static bool only_request_left(const hooks::roster_item& before,
                                const hooks::roster_item& after) {
    return !before.listed && before.pending_in && !after.listed
           && !after.pending_in;
  }

  /// Removes such a record (no push: it was never in the roster).
  void forget(const caf::actor& v, const jid& user, const jid& contact,
              std::function<void()> done) {
    self->request(v, caf::infinite, hooks::roster_remove_item{user, contact})
      .then([done](std::string&) { done(); },
            [user, done](caf::error& err) {
              spdlog::error("roster of {} not updated: {}", user.str(),
                            caf::to_string(err));
              done();
            });
  }

  /// The current presence (or unavailable) of each available resource
  /// of `user`, to `contact`.
  void send_presences(const jid& user, const jid& contact, bool unavailable) {
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

  /// RFC 6121 §3: a subscription stanza for a local user, with the
  /// state transitions of Appendix A on the user's roster.
  void handle_subscription(msg::route& r, const std::string& type,
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
        [this, v, user, contact, stanza, type,
         done](std::vector<hooks::roster_item>& found) {
          hooks::roster_item item;
          bool known = !found.empty();
          if (known)
            item = found.front();
          item.contact = contact;
          if (!known)
            item.listed = false; // a request alone is not listed (§3.1.3)
          auto before = item;
          bool deliver = false;
          bool reply_subscribed = false;
          bool unavailable = false;
          if (type == "subscribe") {
            if (item.subscribed_from()) {
              reply_subscribed = true; // §3.1.3: already approved
            } else if (item.approved) {
              item.approved = false; // §3.4: pre-approved
              item.subscription = item.subscription == "to" ? "both" : "from";
              reply_subscribed = true;
            } else {
              item.pending_in = true;
              deliver = true;
            }
          } else if (type == "subscribed") {
            if (item.ask_out) { // §3.1.6
              item.ask_out = false;
              item.subscription = item.subscription == "from" ? "both" : "to";
              deliver = true;
            }
          } else if (type == "unsubscribe") {
            if (item.subscribed_from() || item.pending_in) { // §3.3.3
              // The contact was subscribed: it sees the user go offline
              // (from every available resource) before it stops hearing.
              unavailable = item.subscribed_from();
              item.pending_in = false;
              item.approved = false;
              // Appendix A.2.3: To + Pending In -> To (not None)
              if (item.subscribed_from())
                item.subscription = item.subscribed_to() ? "to" : "none";
              deliver = true;
            }
          } else if (item.subscribed_to() || item.ask_out) { // unsubscribed, §3.2.3
            item.ask_out = false;
            // Appendix A.2.4: From + Pending Out -> From (not None)
            if (item.subscribed_to())
              item.subscription = item.subscribed_from() ? "from" : "none";
            deliver = true;
          }
          item.update_listed();
          bool changed = item.subscription != before.subscription
                         || item.ask_out != before.ask_out
                         || item.pending_in != before.pending_in
                         || item.approved != before.approved
                         || item.listed != before.listed;
          bool shown = shown_changed(before, item);
          // Delivered once the roster is stored: the user's answer may be
          // handled by another node of a cluster, which reads the store.
          auto stored = [this, user, stanza, deliver] {
            if (deliver)
              to_available(user, stanza); // else kept as Pending In
          };
          if (changed && only_request_left(before, item))
            forget(v, user, contact, [stored, done] {
              stored();
              done();
            });
          else if (changed)
            self
              ->request(v, caf::infinite, hooks::roster_set_item{user, item})
              .then(
                [this, user, item, shown, done, stored](std::string& version) {
                  stored();
                  // Pending In is not part of the roster: a request
                  // alone is not pushed (RFC 6121 §3.1.3).
                  if (shown)
                    push(user, item, version);
                  done();
                },
                [user, done](caf::error& err) {
                  spdlog::error("roster of {} not updated: {}", user.str(),
                                caf::to_string(err));
                  done();
                });
          else {
            stored();
            done();
          }
          if (unavailable)
            send_presences(user, contact, true); // §3.3.3
          if (reply_subscribed) {
            auto ok = std::make_shared<xml::element>("presence",
                                                     "jabber:client");
            ok->set_attr("type", "subscribed");
            ok->set_attr("from", user.str());
            ok->set_attr("to", contact.str());
            self->send(shard_of(contact),
                       msg::route{ok, user, contact});
          }
        },
        [done](caf::error&) { done(); });
  }

  /// RFC 6121 §4.3.2: a probe is answered with the current presence of
  /// each available resource, if the prober is subscribed.
  void inbound_probe(msg::route& r) {
    auto user = r.to.bare();
    auto prober = r.from;
    auto v = vhost_of(user);
    if (!v || prober.empty())
      return;
    self
      ->request(v, caf::infinite,
                hooks::roster_load_item{user, prober.bare()})
      .then(
        [this, user, prober](std::vector<hooks::roster_item>& found) {
          if (found.empty() || !found.front().subscribed_from())
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
              self->send(shard, msg::route{p, user.with_resource(e.resource),
                                           prober});
            }
        },
        [](caf::error&) {});
  }

  void route(msg::route& r) {
    if (r.stanza->name == "presence" && !r.to.local().empty()) {
      auto type = r.stanza->attr_or("type");
      bool sub = type == "subscribe" || type == "subscribed"
                 || type == "unsubscribe" || type == "unsubscribed";
      if (!sub)
        if (auto i = sub_queue.find(r.to.bare_str()); i != sub_queue.end()) {
          i->second.push_back(queued{queued::presence, r});
          return;
        }
    }
    route_now(r);
  }

  /// The vhost that answers `presence.check` for a probe: the contact's
  /// if its domain is served here, else the prober's; null when that one
  /// has no plugin for it (then nothing changes).
  const vhost_info* presence_checker(const msg::route& r) const {
    for (auto* d : {&r.to.domain(), &r.from.domain()}) {
      auto v = vhosts->find(*d);
      if (v != vhosts->end())
        return v->second.serves<hooks::presence_check>() ? &v->second : nullptr;
    }
    return nullptr;
  }

  /// `presence.check` for a probe (hooks/catalogue.hpp): what the
  /// plugins report goes to the prober as from the contact. True when
  /// the probe is done with (a contact not served here: the plugins'
  /// answer replaces the <remote-server-not-found/>).
  bool check_presence(const msg::route& r) {
    auto v = presence_checker(r);
    if (v == nullptr || r.from.empty())
      return false;
    bool remote = vhosts->count(r.to.domain()) == 0;
    auto probe = r.stanza;
    auto prober = r.from;
    auto contact = r.to.bare();
    self
      ->request(v->actor, caf::infinite,
                hooks::presence_check{prober, contact})
      .then(
        [this, probe, prober, contact,
         remote](hooks::answer<std::vector<xml::element_ptr>>& a) {
          if (a.declined) {
            if (remote)
              bounce(*probe, prober, "remote-server-not-found");
            return;
          }
          for (auto& p : a.value) {
            // Availability only (RFC 6121 §4.3.2): never a subscription
            // stanza in the contact's name.
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

  void route_now(msg::route& r) {
    if (r.stanza->name == "presence" && r.stanza->attr_or("type") == "probe"
        && check_presence(r))
      return;
    if (vhosts->count(r.to.domain()) == 0) {
      if (s2s) { // the s2s stage: it bounces what it cannot deliver
        self->send(s2s, std::move(r));
        return;
      }
      bounce(*r.stanza, r.from, "remote-server-not-found");
      return;
    }
    const auto& kind = r.stanza->name;
    if (kind == "presence" && !r.to.local().empty()) {
      auto type = r.stanza->attr_or("type");
      if (type == "subscribe" || type == "subscribed" || type == "unsubscribe"
          || type == "unsubscribed") {
        inbound_subscription(r, type);
        return;
      }
      if (type == "probe") {
        unless_blocked(r, [] {}, [this, r]() mutable { inbound_probe(r); });
        return;
      }
    }
    if (r.to.is_full()) {
      if (auto e = find(r.to)) {
        self->send(e->session, msg::deliver_local{r.stanza});
        return;
      }
      if (remote_full(r))
        return;
      // RFC 6121 §8.5.3.2: no resource matches.
      if (kind == "message") {
        auto type = r.stanza->attr_or("type", "normal");
        if (type == "groupchat")
          bounce(*r.stanza, r.from, "service-unavailable");
        else if (type != "error")
          message_to_bare(r);
      } else if (kind == "iq") {
        auto type = r.stanza->attr_or("type");
        if (type == "get" || type == "set")
          bounce(*r.stanza, r.from, "service-unavailable");
      } // presence: silently dropped (§8.5.3.2.3)
      return;
    }
    if (kind == "message") {
      message_to_bare(r);
    } else if (kind == "presence") {
      if (cluster)
        remote_fanout(r.to, cluster::deliver_mode::available, r.stanza);
      if (auto rs = find_user(r.to))
        for (auto& e : *rs)
          if (e.available)
            self->send(e.session, msg::deliver_local{r.stanza});
    } else if (kind == "iq") {
      // Sessions hand bare-JID iqs to the vhost; one reaching us is
      // unanswerable here.
      auto type = r.stanza->attr_or("type");
      if (type == "get" || type == "set")
        bounce(*r.stanza, r.from, "service-unavailable");
    }
  }
};

caf::behavior shard_actor(caf::stateful_actor<shard_state>* self,
                          std::shared_ptr<const vhost_table> vhosts,
                          std::shared_ptr<const domain_set> blocking,
                          std::shared_ptr<const cluster::link> cluster) {
  self->state.self = self;
  self->state.vhosts = std::move(vhosts);
  self->state.blocking = std::move(blocking);
  self->state.cluster = std::move(cluster);
  // The node actor mirrors this node's sessions to the other nodes.
  auto notify = [self](auto m) {
    if (self->state.cluster)
      self->send(self->state.cluster->node, std::move(m));
  };
  return {
    [self](std::vector<caf::actor>& shards) {
      self->state.router.shards = std::move(shards);
    },
    [self](s2s_route_atom, caf::actor& s2s) {
      self->state.s2s = std::move(s2s);
    },
    [self, notify](msg::bind& b) -> bool {
      bool replaced = false;
      self->state.bind(b, replaced);
      notify(b);
      return replaced;
    },
    [self, notify](const msg::unbind& u) {
      self->state.unbind(u);
      notify(u);
    },
    [self, notify](const msg::presence_state& p) {
      if (auto e = self->state.find(p.full); e && e->session == p.session) {
        e->available = p.available;
        e->priority = p.priority;
        e->presence = p.available ? p.presence : nullptr;
        notify(p);
      }
    },
    [self](msg::route& r) { self->state.route(r); },
    [self](const msg::unavailable_to& u) {
      auto& st = self->state;
      auto& shard = st.shard_of(u.contact);
      for (auto& rp : st.remote_presences(u.user)) {
        auto p = std::make_shared<xml::element>("presence", "jabber:client");
        p->set_attr("type", "unavailable");
        p->set_attr("from", rp.first.str());
        p->set_attr("to", u.contact.str());
        self->send(shard, msg::route{p, rp.first, u.contact});
      }
      auto rs = st.find_user(u.user);
      if (rs == nullptr)
        return;
      for (auto& e : *rs)
        if (e.available) {
          auto from = u.user.with_resource(e.resource);
          auto p = std::make_shared<xml::element>("presence", "jabber:client");
          p->set_attr("type", "unavailable");
          p->set_attr("from", from.str());
          p->set_attr("to", u.contact.str());
          self->send(shard, msg::route{p, from, u.contact});
        }
    },
    [self](msg::outbound_subscription& o) {
      auto& st = self->state;
      st.enqueue(o.user.bare_str(),
                 shard_state::queued{shard_state::queued::outbound,
                                     msg::route{o.stanza, o.user, o.contact}});
    },
    [self](msg::blocklist_push& p) {
      if (auto rs = self->state.find_user(p.user))
        for (auto& e : *rs)
          self->send(e.session, p);
    },
    [self](const msg::presence_to& p) {
      self->state.send_presences(p.user, p.contact, false);
    },
    [self](msg::push_to_user& p) {
      if (self->state.cluster)
        self->state.remote_fanout(p.user, cluster::deliver_mode::push,
                                  p.stanza);
      if (auto rs = self->state.find_user(p.user))
        for (auto& e : *rs)
          self->send(e.session, msg::roster_push{p.stanza});
    },
  };
}

} // namespace

std::vector<caf::actor>
spawn_router(caf::actor_system& sys, size_t count,
             std::shared_ptr<const vhost_table> vhosts,
             std::shared_ptr<const domain_set> blocking,
             std::shared_ptr<const cluster::link> cluster) {
  std::vector<caf::actor> shards;
  for (size_t i = 0; i < std::max<size_t>(count, 1); ++i)
    shards.push_back(sys.spawn(shard_actor, vhosts, blocking, cluster));
  for (auto& s : shards)
    caf::anon_send(s, shards);
  return shards;
}

} // namespace dja
