#pragma once

// RFC 6121 §3 and Appendix A: the presence subscription a user's server
// keeps for one contact, and what a subscription stanza (subscribe,
// subscribed, unsubscribe, unsubscribed) sent or received by the user
// does to it. Pure functions (state, stanza) -> (new state, effects):
// nothing here loads, stores or sends; the router shard does that
// (actors/router/subscription_queue.cpp) and the tests check every row
// of Appendix A directly (tests/router/subscription_test.cpp).

#include <cstdint>
#include <optional>
#include <string_view>

namespace dja::subscription {

/// Whose presence flows where (Appendix A's "None", "To", "From",
/// "Both"), from the user's side.
enum class flow : std::uint8_t {
  none, ///< no presence either way
  to,   ///< the user receives the contact's presence
  from, ///< the contact receives the user's presence
  both,
};

/// The state of one contact in a user's roster: the subscription, the
/// pending flags of Appendix A, the pre-approval of §3.4, and whether
/// the contact shows in the roster at all.
struct state {
  flow sub = flow::none;
  bool pending_out = false; ///< the user asked (shown as ask='subscribe')
  bool pending_in = false;  ///< the contact asked (not shown, §3.1.3)
  bool approved = false;    ///< pre-approved by the user (§3.4)
  /// In the user's roster. A record holding only a request from a
  /// contact the user never added is not (§3.1.3); a state or a request
  /// of the user's own lists it, and a listed contact stays listed (as
  /// None + Pending In, Appendix A).
  bool listed = false;

  bool to() const {
    return sub == flow::to || sub == flow::both;
  }
  bool from() const {
    return sub == flow::from || sub == flow::both;
  }
  bool operator==(const state& o) const {
    return sub == o.sub && pending_out == o.pending_out
           && pending_in == o.pending_in && approved == o.approved
           && listed == o.listed;
  }
  bool operator!=(const state& o) const {
    return !(*this == o);
  }
};

/// The four subscription stanza types (RFC 6121 §3).
enum class kind : std::uint8_t { subscribe, subscribed, unsubscribe,
                                 unsubscribed };

/// The user's presence that goes to the contact besides the stanza.
enum class presence_to_contact : std::uint8_t {
  nothing,
  current,     ///< each available resource's presence (§3.1.5)
  unavailable, ///< unavailable from each available resource (§3.2.2)
};

/// What happens to the stored record.
enum class store_op : std::uint8_t {
  keep,   ///< unchanged: nothing stored
  save,   ///< the new state is stored (roster.set_item)
  remove, ///< a request alone was withdrawn or denied: no trace left
          ///< (§3.2.2, §3.3.3; roster.remove_item, no push)
};

/// What the shard does after a transition. In order: forward, presence
/// and reply at once; deliver once the store is done (another node of a
/// cluster may handle the user's answer and reads the store); push once
/// `save` succeeded.
struct effects {
  /// Outbound: the stanza goes on to the contact (Appendix A.3 "route").
  bool forward = false;
  /// Inbound: the stanza goes to the user's available resources
  /// (Appendix A.2 "deliver"); a subscribe not delivered waits as
  /// Pending In and is delivered at her next available presence.
  bool deliver = false;
  /// Inbound subscribe from a contact already subscribed (or
  /// pre-approved): <subscribed/> back in the user's name (§3.1.3).
  bool reply_subscribed = false;
  presence_to_contact presence = presence_to_contact::nothing;
  store_op store = store_op::keep;
  /// A roster push of the new item (§2.1.6): what the roster shows
  /// changed (Pending In alone is not shown, §3.1.3).
  bool push = false;

  bool operator==(const effects& o) const {
    return forward == o.forward && deliver == o.deliver
           && reply_subscribed == o.reply_subscribed
           && presence == o.presence && store == o.store && push == o.push;
  }
};

/// A transition: the new state and what to do.
struct outcome {
  state next;
  effects fx;
};

/// Appendix A.3: the user sends a `k` stanza to the contact.
outcome outbound(const state& s, kind k);

/// Appendix A.2: a `k` stanza from the contact arrives for the user.
outcome inbound(const state& s, kind k);

/// Whether an inbound subscribe in `s` adds a request the user has not
/// seen yet (one more Pending In: the pending-requests bound applies).
bool adds_request(const state& s, kind k);

/// The stanza type of a subscription stanza; nullopt for any other
/// presence type.
std::optional<kind> parse_kind(std::string_view type);

/// The roster's text of a subscription ("none", "to", "from", "both")
/// and back; an unknown text reads as none.
flow parse_flow(std::string_view text);
const char* to_string(flow f);

} // namespace dja::subscription
