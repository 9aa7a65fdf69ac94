#pragma once

// The state of one session actor, split by protocol area:
// session.cpp (stanzas in and out, presence, routing), roster.cpp
// (RFC 6121 §2 roster management), offline.cpp (XEP-0160 fetch),
// carbons.cpp (XEP-0280) and csi.cpp (XEP-0352).

#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <list>
#include <unordered_map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "common/blocklist.hpp"
#include "common/jid.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"
#include "common/xml.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

/// False for an item that only holds a pending inbound request.
bool in_roster(const hooks::roster_item& item);

struct session_state {
  static inline const char* name = "session";

  caf::stateful_actor<session_state>* self = nullptr;
  jid full;
  jid bare;
  caf::actor conn;
  context_ptr ctx;
  const vhost_info* vhost = nullptr;
  std::string remote;
  /// When the resource was bound (`ctl sessions`).
  std::time_t since = std::time(nullptr);
  bool available = false;
  int priority = 0;
  bool closed = false;
  bool offline_fetched = false;
  /// Live stanzas held back while stored ones are fetched and written
  /// (offline.cpp), so that the client sees them in arrival order.
  std::optional<std::vector<xml::element_ptr>> held;
  /// Stored stanzas on their way to the client (offline.cpp), paced so
  /// that what waits in the connection stays under half of
  /// limits.write_buffer (a large queue must not look like a client
  /// that does not read): those not written yet (from `next` on),
  /// the bytes written but not yet taken by the kernel, and the ids
  /// taken (to remove from the store).
  struct offline_flight {
    std::vector<hooks::offline_message> out;
    std::size_t next = 0;
    std::size_t in_flight = 0;
    std::vector<int64_t> done;
    bool failed = false;
  };
  /// Only while stored stanzas go out: an idle session holds a pointer.
  std::unique_ptr<offline_flight> offline;
  bool roster_interested = false; ///< asked for the roster (RFC 6121 §2.1.6)
  bool blocklist_interested = false; ///< asked for the block list (XEP-0191)
  /// The user's block list, enforced here (blocking.cpp); kept current by
  /// the block/unblock pushes every session of the user gets.
  blocklist blocked;
  /// The last broadcast presence (probes are answered from the router).
  xml::element_ptr last_presence;
  /// <status/> of the last unavailable broadcast, "" once available
  /// again (XEP-0012 §4, through session.closed).
  std::string unavailable_status;
  /// Directed presence recipients (RFC 6121 §4.6): they get our
  /// unavailable presence when we leave.
  std::set<std::string> directed;
  /// The client stopped reading (limits.write_buffer): what reached us
  /// for it since is routed again once the router forgets us
  /// (give_back()), so that it reaches offline storage or bounces
  /// (RFC 6121 §8.5) instead of vanishing.
  bool giving_back = false;
  std::vector<xml::element_ptr> returned;
  /// Presence broadcasts waiting for the roster; close() waits for them.
  int broadcasts_in_flight = 0;
  std::function<void()> on_settled;
  /// The client's iq get/set waiting for an answer, by id, with when they
  /// were sent (limits.max_iqs_in_flight; iq_bound.cpp).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point>
    iqs_in_flight;
  std::chrono::steady_clock::time_point iq_limit_logged;
  /// XEP-0198 (sm.cpp), once the client enabled it: with an id, the
  /// session outlives a lost connection for `timeout`, detached.
  struct sm_state {
    std::string id; ///< "": acks only, no resumption
    std::chrono::seconds timeout{0};
    bool detached = false;
    uint32_t handled = 0; ///< the connection's counters at the loss
    uint32_t acked = 0;
    /// While detached: the `sent` stanzas the client had not acknowledged
    /// (null: counted, not resent), then those that came since, with
    /// when they reached us (the XEP-0203 stamp if resent).
    struct queued {
      xml::element_ptr stanza;
      std::time_t at;
    };
    std::vector<queued> queue;
    std::size_t sent = 0;
    uint64_t detachment = 0; ///< numbers the detachments (the timer's)
    /// The lost connection was let go (closed_atom): nothing to drain.
    bool released = false;
    /// A <resume/> came while the old connection still looked alive
    /// (half-open): answered once that connection has handed over what
    /// the client did not acknowledge (sm_takeover.cpp).
    struct takeover {
      msg::sm_resume request;
      caf::response_promise rp;
    };
    std::unique_ptr<takeover> taking_over;
  };
  std::unique_ptr<sm_state> sm;
  /// Replaced by a newer bind while the connection holds unacknowledged
  /// stanzas: they are routed again once it hands them over.
  bool replaced = false;

  // --- sm.cpp (XEP-0198) ---
  bool detached() const { return sm && sm->detached; }
  void on_sm_enabled(const msg::sm_enabled& m);
  /// The connection ended: detach (resumable and lost) or end.
  void on_sm_parked(msg::sm_parked& p);
  void sm_detach(msg::sm_parked& p);
  /// A stanza for the client while detached (bounded by max_unacked).
  void sm_queue(xml::element_ptr e);
  msg::sm_resumed on_sm_resume(const msg::sm_resume& r);
  // --- sm_takeover.cpp (XEP-0198 §5 on a half-open connection) ---
  /// `r` resumes this session although its connection is open.
  bool can_take_over(const msg::sm_resume& r) const;
  /// Closes the old connection; `r` is answered (through a response
  /// promise) when that connection has parked or is gone.
  void sm_take_over(const msg::sm_resume& r);
  /// The old connection parked (`p`) or died (null): answers the waiting
  /// resumption. False when none waits, or when `p` must still be
  /// handled as usual (the session was replaced meanwhile).
  bool sm_takeover_done(msg::sm_parked* p);
  void on_sm_timeout(uint64_t detachment);
  /// Ends the session; what it holds is routed again (offline storage
  /// or a bounce, RFC 6121 §8.5), never dropped.
  void sm_end(const std::string& reason);
  /// A conflict_atom from the router (a newer bind of the same JID).
  void on_replaced();
  /// XEP-0280: the client enabled carbons (carbons.cpp).
  bool carbons_enabled = false;
  /// XEP-0352 (csi.cpp): while the client is inactive, what it can read
  /// later, in arrival order, each with the key it folds by.
  struct csi_hold {
    std::list<xml::element_ptr> queue;
    std::unordered_map<std::string, std::list<xml::element_ptr>::iterator>
      slot;
  };
  /// Null while the client is active (the default).
  std::unique_ptr<csi_hold> csi;

  // --- iq_bound.cpp ---
  /// A get/set from the client: counted, or answered <resource-constraint/>
  /// when too many are waiting (false: do not dispatch it).
  bool count_iq(const xml::element& e);
  /// An iq going to the client: a result or error ends the wait.
  void iq_answered(const xml::element& e);

  // --- session.cpp ---
  void to_client(xml::element_ptr e);
  void reply_error(const xml::element& e, std::string_view cond);
  void route(xml::element_ptr e, const jid& to);
  void from_client(const xml::element_ptr& in);
  bool valid_iq(const xml::element& e);
  void dispatch(const xml::element_ptr& e, const std::optional<jid>& to);
  void iq_for_server(const xml::element_ptr& e, const jid& target);
  void iq_to_vhost(const xml::element_ptr& e, const jid& target,
                   const vhost_info& v);
  void close(const std::string& reason);
  /// The end of close() after an overflow: unbind, then route again.
  void give_back(const std::string& reason);

  // --- carbons.cpp (XEP-0280) ---
  /// An iq of urn:xmpp:carbons:2 to the server: enable/disable answered
  /// here (true), or false when the vhost has no carbons plugin.
  bool on_carbons_iq(const xml::element_ptr& e, const jid& target);
  /// §8: an eligible message the client sent to `to` is copied to the
  /// user's other resources (by the user's router shard).
  void copy_sent(const xml::element_ptr& e, const jid& to);
  /// A copy from the router: to the client while carbons are enabled.
  void on_carbon(const xml::element_ptr& e);

  // --- csi.cpp (XEP-0352) ---
  /// <inactive/> or <active/> from the client.
  void on_csi(const xml::element& e);
  /// While inactive: holds `e` (true), or flushes what is held because
  /// `e` must go out now (false: the caller sends it).
  bool csi_holds(const xml::element_ptr& e);
  /// Everything held to the client, in order.
  void csi_flush();
  /// Everything held, in order, out of the hold (the client stays
  /// inactive): for the XEP-0198 queue or to route again.
  std::vector<xml::element_ptr> csi_take();
  bool csi_holding() const;

  // --- push.cpp (XEP-0357) ---
  /// A stanza for the client: a message while detached or inactive is
  /// told to the push plugin (`push.wake`).
  void push_wake(const xml::element_ptr& e);
  /// Just detached: the messages the client had not acknowledged may
  /// never have reached it (as Prosody's mod_cloud_notify).
  void push_unacked();

  // --- offline.cpp ---
  /// A stanza the router delivered to this session.
  void deliver_local(xml::element_ptr e);
  /// XEP-0160: fetch the stored stanzas, write them, then remove them.
  void fetch_offline();
  /// Writes stored stanzas while the window allows; at the end removes
  /// what was written from the store and releases the held ones.
  void send_offline();
  void release_held();
  void remove_offline(std::vector<int64_t> ids);

  // --- presence.cpp ---
  void broadcast_presence(const xml::element& e);
  /// Runs presence.alter_available / _unavailable on `pres` when the
  /// vhost has such plugins (else at once); `k` gets the presence to
  /// broadcast, or null when a plugin dropped it.
  void alter_presence(xml::element_ptr pres, bool available,
                      std::function<void(xml::element_ptr)> k);
  /// The rest of a broadcast, with the altered presence (or null).
  void finish_broadcast(xml::element_ptr out,
                        const xml::element_ptr& original, bool initial);
  /// Sends `pres` to the contacts whose subscription matches; with
  /// `probe`, also probes the contacts we are subscribed to and hands
  /// pending subscription requests to the client.
  void to_contacts(xml::element_ptr pres, bool initial,
                   std::function<void()> done = {});
  void send_unavailable_to_contacts(std::function<void()> done);
  /// Subscription stanzas (to the router shard) and directed presence;
  /// false when
  /// the stanza is an ordinary one for route().
  bool on_directed_presence(const xml::element_ptr& e, const jid& to);


  // --- mam.cpp (XEP-0313) ---
  /// An iq in urn:xmpp:mam:2: true when the vhost's archive answers it.
  bool on_mam_iq(const xml::element_ptr& e, const jid& target);

  // --- roster.cpp ---
  /// Some plugin of the vhost stores rosters (else roster iqs get the
  /// iq hook's default, <service-unavailable/>).
  bool vhost_has_roster() const {
    return vhost && vhost->serves<hooks::roster_get>();
  }
  /// A roster iq to `target` (a bare JID of a served domain): true when
  /// answered here (own roster; another account's: <forbidden/>), false
  /// to let the vhost's iq hook answer it.
  bool on_roster_iq(const xml::element_ptr& e, const jid& target);
  void roster_get(const xml::element_ptr& e);
  void roster_set(const xml::element_ptr& e);
  void push_item(const hooks::roster_item& item, const std::string& version,
                 bool removed);
  void on_roster_push(const xml::element_ptr& e);
  /// Sends unsubscribe / unsubscribed for a removed item.
  void cancel_subscriptions(const hooks::roster_item& item);

  // --- blocking.cpp (XEP-0191) ---
  bool vhost_has_blocking() const {
    return vhost && vhost->serves<hooks::blocking_list>();
  }
  /// Loads the block list; the session handles nothing else until then.
  void load_blocklist();
  void on_blocking_iq(const xml::element_ptr& e);
  void block(const xml::element_ptr& e, std::vector<jid> items);
  void unblock(const xml::element_ptr& e, std::vector<jid> items);
  void on_blocklist_push(const xml::element_ptr& e);
  /// A stanza from a blocked JID: dropped, or an iq get/set answered
  /// <service-unavailable/>. True when it must not reach the client.
  bool blocked_inbound(const xml::element& e);
  /// A stanza to a blocked JID: answered <not-acceptable/> + <blocked/>
  /// (errors and results dropped). True when it must not be routed.
  bool blocked_outbound(const xml::element& e, const jid& to);
  /// An iq the server answers for another local user (`target`, a bare
  /// JID): asks `blocking.check` first, then iq_to_vhost() or
  /// <service-unavailable/>. False when no check is needed.
  bool iq_to_blocking_user(const xml::element_ptr& e, const jid& target,
                           const vhost_info& v);
};

} // namespace dja
