#pragma once

// The state of one router shard (see router.hpp), declared once and
// defined by topic:
//   router.cpp             the routing table (bind, unbind) and RFC 6121
//                          §8 delivery; the shard's behavior
//   cluster_hops.cpp       resources bound on other nodes of a cluster
//   probes.cpp             presence between a user and a contact: probes
//                          (§4.3), presence.check, XEP-0191 blocking
//   subscription_queue.cpp the per-user queue of subscription stanzas and
//                          the effects of subscription.hpp's transitions
//   carbons.cpp            XEP-0280 copies to the user's other resources
//   presence_in.cpp        presence from other domains to the vhost's
//                          plugins (presence.received)
// Internal to actors/router/.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include "cluster/directory.hpp"
#include "cluster/messages.hpp"
#include "cluster/node.hpp"
#include "common/carbons.hpp"
#include "common/limits.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"
#include "hooks/catalogue.hpp"
#include "router/router.hpp"
#include "router/subscription.hpp"

namespace dja {

/// The subscription state of a roster item, and back: the roster keeps
/// its text form (hooks/catalogue.hpp), the shard the enum. No item:
/// the state of a contact never seen (None, not listed).
subscription::state state_of(const hooks::roster_item* item);
void set_state(hooks::roster_item& item, const subscription::state& s);

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
  /// The tables a reload replaced: kept, since a continuation may still
  /// hold a vhost_info of one (a few hundred bytes per reload).
  std::vector<std::shared_ptr<const vhost_table>> retired;
  std::shared_ptr<const domain_set> blocking; ///< may be null
  router_ref router; ///< all shards, to route onwards
  caf::actor s2s;    ///< remote domains; null: no federation
  std::shared_ptr<const cluster::link> cluster; ///< null: a single node
  dja::limits bounds; ///< max_resources, max_pending_subscriptions
  /// bare JID string -> bound resources.
  std::unordered_map<std::string, std::vector<resource_entry>> users;
  /// When route() took the stanza being routed (metrics on; cleared
  /// when undeliverable() takes it over until the deliver chain answers).
  std::chrono::steady_clock::time_point route_start;

  // --- the routing table (router.cpp) ---

  const caf::actor& shard_of(const jid& j) const {
    return router.shard_for(j);
  }
  std::vector<resource_entry>* find_user(const jid& j);
  resource_entry* find(const jid& full);
  caf::actor vhost_of(const jid& j) const;
  /// Binds `b.full` (RFC 6120 §7); false when the account already has
  /// `bounds.max_resources` resources bound here and on other nodes
  /// (§7.6.2.1: <resource-constraint/>).
  bool bind(msg::bind& b, bool& replaced);
  void unbind(const msg::unbind& u);

  // --- delivery, RFC 6121 §8 (router.cpp) ---

  /// A stanza for `r.to`; presence queued behind a subscription of the
  /// same user waits for it.
  void route(msg::route& r);
  void route_now(msg::route& r);
  /// Sends an error for `stanza` back to its sender (never for errors).
  void bounce(const xml::element& stanza, const jid& from,
              std::string_view condition);
  /// No session took it: ask the vhost's `deliver` chain, then bounce.
  void undeliverable(msg::route& r, const char* condition);
  /// §8.5.2: a message to a bare JID. `rerouted`: a hop to another node
  /// just failed and this is the one second try, on the directory as it
  /// is now (a lost node's resources are gone from it, a resource bound
  /// since is in it); if that fails too, offline storage or a bounce.
  /// Carbons (XEP-0280 §7) went out on the first try.
  void message_to_bare(msg::route& r, bool rerouted = false);
  /// Delivers to the available resources of `user` with non-negative
  /// priority (§3.1.3, §8.5.2.1); true when one here took it.
  bool to_available(const jid& user, const xml::element_ptr& stanza);
  /// A roster push to every resource of `user` (§2.1.6).
  void push(const jid& user, const xml::element_ptr& iq);
  /// XEP-0313: archives a message for its local sender and recipient
  /// and stamps the recipient's XEP-0359 <stanza-id/> (archive.cpp).
  void archive(msg::route& r);

  // --- from outside the recipient's vhost (presence_in.cpp) ---
  /// An available or unavailable presence from another domain was
  /// delivered to `r.to`: `presence.received` to its vhost, if served.
  void presence_received(const msg::route& r);

  // --- XEP-0357 push notifications (push.cpp) ---

  /// Offline storage took `stanza` for `to`: a message is told to the
  /// vhost's push plugin (`push.wake`), which may wake a device.
  void push_stored(const xml::element_ptr& stanza, const jid& to);
  /// An iq result or error for a local bare JID (not a session's): the
  /// answer to a request the server sent on the account's behalf (e.g. a
  /// XEP-0357 notification), to the plugin that declared its key.
  void answer_to_server(const msg::route& r);

  // --- other nodes of the cluster (cluster_hops.cpp) ---

  /// The user's resources bound on other nodes (none without a cluster).
  std::vector<cluster::entry> remote_of(const jid& user) const;
  /// Hands `stanza` to the node actor for `node`; `done(taken)` runs
  /// here once the other node acknowledged it, refused it, or timed out.
  void hop(const std::string& node, cluster::deliver_mode mode,
           const xml::element_ptr& stanza, const jid& to,
           std::function<void(bool)> done);
  /// To every other node holding a resource of `user` that `mode`
  /// selects; nothing is retried (presence and pushes).
  void remote_fanout(const jid& user, cluster::deliver_mode mode,
                     const xml::element_ptr& stanza);
  /// A full JID not bound here: to the node that holds it (false: none
  /// does). If the hop fails, a message goes to the user's other
  /// resources (here or, per the directory now, on another node) or to
  /// offline storage, an iq request is answered with an error.
  bool remote_full(msg::route& r);
  /// The available presence of each resource of `user` on other nodes,
  /// as (full JID, presence).
  std::vector<std::pair<jid, xml::element_ptr>>
  remote_presences(const jid& user) const;
  /// The resources on other nodes chosen by message_to_bare(); false
  /// when there are none. If every hop fails and no local resource took
  /// the message, it is routed once more (`rerouted` false) or goes to
  /// offline storage (or bounces).
  bool remote_to_bare(msg::route& r, const std::vector<cluster::entry>& es,
                      int best, const std::string& type, bool local_taken,
                      bool rerouted);

  // --- XEP-0280 message carbons (carbons.cpp) ---

  /// The vhost of `user` has the carbons plugin.
  bool carbons_served(const jid& user) const;
  /// §11: a message to a local user loses any <received/>/<sent/>
  /// wrapper (only this server makes carbons; they never pass route()).
  void untrust_carbons(msg::route& r);
  /// §7: `r` was delivered to the resources `got` of `r.to` (here or on
  /// other nodes); an eligible message is copied to the others.
  void received_copies(const msg::route& r, std::vector<std::string> got);
  /// The same for one resource (the common case: no vector unless the
  /// vhost has carbons).
  void received_copies(const msg::route& r, const std::string& got);
  /// §8: what `s.full` sent, copied to the user's other resources.
  void sent_copies(const msg::sent_copy& s);
  /// Wraps `original` (once) and sends it as msg::carbon to every
  /// resource of `user` not in `except`, here and on other nodes; each
  /// session keeps it only when its client enabled carbons.
  void copy_to_others(const jid& user, const xml::element_ptr& original,
                      carbons::direction d,
                      const std::vector<std::string>& except);

  // --- presence between a user and a contact (probes.cpp) ---

  /// XEP-0191 §3.3: presence from a JID the user blocks (subscriptions,
  /// probes) gets no answer and changes nothing. Runs `k` unless the
  /// recipient of `r` blocks its sender (or the check fails: dropped,
  /// like a blocked one); else `dropped`.
  void unless_blocked(const msg::route& r, std::function<void()> dropped,
                      std::function<void()> k);
  /// §4.3.2: a probe is answered with the current presence of each
  /// available resource, if the prober is subscribed.
  void inbound_probe(msg::route& r);
  /// The vhost that answers `presence.check` for a probe: the contact's
  /// if its domain is served here, else the prober's; null when that one
  /// has no plugin for it (then nothing changes).
  const vhost_info* presence_checker(const msg::route& r) const;
  /// `presence.check` for a probe (hooks/catalogue.hpp): what the
  /// plugins report goes to the prober as from the contact. True when
  /// the probe is done with (a contact not served here: the plugins'
  /// answer replaces the <remote-server-not-found/>).
  bool check_presence(const msg::route& r);
  /// The current presence (or unavailable) of each available resource
  /// of `user`, to `contact`.
  void send_presences(const jid& user, const jid& contact, bool unavailable);
  /// Unavailable presence from every available resource of `u.user` to
  /// `u.contact` (§3.2.2, XEP-0191 §3.4).
  void unavailable_to(const msg::unavailable_to& u);

  // --- subscriptions (subscription_queue.cpp) ---

  /// Per user, the subscription stanzas (both directions) and the
  /// presences that arrived behind them, handled one at a time: each
  /// subscription is a read-modify-write of a roster item, and a
  /// presence must not overtake the <subscribed/> before it.
  struct queued {
    enum kind_t { inbound, outbound, presence } kind;
    msg::route r;
  };
  std::unordered_map<std::string, std::deque<queued>> sub_queue;

  void enqueue(const std::string& key, queued q);
  void subscription_done(const std::string& key);
  void next_subscription(const std::string& key);
  void outbound_subscription(const msg::route& r, subscription::kind k,
                             std::function<void()> done);
  void inbound_subscription(const msg::route& r, subscription::kind k,
                            std::function<void()> done);
  /// Calls `k` unless `user` has `bounds.max_pending_subscriptions`
  /// requests pending already (then the request is dropped and logged).
  void unless_too_many_requests(const caf::actor& v, const jid& user,
                                const jid& contact, std::function<void()> k,
                                std::function<void()> done);
  /// Stores `o.next` as `item` (or removes a request alone), then
  /// `stored()`, the roster push and `done()`; a store that refuses
  /// (a bound, quota.hpp) or fails calls `failed(err)`, then `done()`.
  void store(const caf::actor& v, const jid& user, hooks::roster_item item,
             const subscription::outcome& o, std::function<void()> stored,
             std::function<void()> done,
             std::function<void(const caf::error&)> failed);
};

} // namespace dja
