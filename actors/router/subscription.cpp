// RFC 6121 Appendix A as functions: the transitions of a contact's
// subscription state for each stanza the user sends (A.3) or receives
// (A.2), and what the server does besides (route, deliver, answer, push).

#include "router/subscription.hpp"

namespace dja::subscription {

namespace {

/// A subscription state or a request of the user's own lists the
/// contact; nothing unlists it again.
void update_listed(state& s) {
  if (s.sub != flow::none || s.pending_out || s.approved)
    s.listed = true;
}

/// Whether a roster push shows something new (§2.1.6): an item that
/// appears, or a listed one whose subscription, ask or approval changed.
bool shown_changed(const state& before, const state& after) {
  return after.listed
         && (!before.listed || before.sub != after.sub
             || before.pending_out != after.pending_out
             || before.approved != after.approved);
}

/// §3.2.2, §3.3.3: a record that only held a request from a contact the
/// user never added leaves no trace once the request is withdrawn or
/// denied (not an item with subscription none).
bool only_request_left(const state& before, const state& after) {
  return !before.listed && before.pending_in && !after.listed
         && !after.pending_in;
}

/// The store and push effects of going from `before` to `after`.
void settle(const state& before, outcome& o) {
  update_listed(o.next);
  if (o.next == before)
    o.fx.store = store_op::keep;
  else if (only_request_left(before, o.next))
    o.fx.store = store_op::remove;
  else
    o.fx.store = store_op::save;
  o.fx.push = o.fx.store == store_op::save && shown_changed(before, o.next);
}

/// The subscription without the contact's presence flowing to the user.
flow without_to(const state& s) {
  return s.from() ? flow::from : flow::none;
}

/// The subscription without the user's presence flowing to the contact.
flow without_from(const state& s) {
  return s.to() ? flow::to : flow::none;
}

} // namespace

outcome outbound(const state& s, kind k) {
  outcome o{s, {}};
  auto& n = o.next;
  auto& fx = o.fx;
  fx.forward = true;
  switch (k) {
    case kind::subscribe: // §3.1.2
      if (!s.to())
        n.pending_out = true;
      break;
    case kind::unsubscribe: // §3.3.2
      n.pending_out = false;
      n.sub = without_to(s);
      break;
    case kind::subscribed: // §3.1.5
      if (s.pending_in) {
        n.pending_in = false;
        n.sub = s.to() ? flow::both : flow::from;
        fx.presence = presence_to_contact::current;
      } else if (!s.from()) {
        n.approved = true; // §3.4: pre-approval, not forwarded
        fx.forward = false;
      } else {
        fx.forward = false; // already subscribed: nothing to say
      }
      break;
    case kind::unsubscribed: // §3.2.2
      fx.forward = s.from() || s.pending_in;
      n.pending_in = false;
      n.approved = false;
      n.sub = without_from(s);
      if (fx.forward)
        fx.presence = presence_to_contact::unavailable;
      break;
  }
  settle(s, o);
  return o;
}

outcome inbound(const state& s, kind k) {
  outcome o{s, {}};
  auto& n = o.next;
  auto& fx = o.fx;
  switch (k) {
    case kind::subscribe: // §3.1.3
      if (s.from()) {
        fx.reply_subscribed = true; // already approved
      } else if (s.approved) {
        n.approved = false; // §3.4: pre-approved
        n.sub = s.to() ? flow::both : flow::from;
        fx.reply_subscribed = true;
      } else {
        n.pending_in = true;
        fx.deliver = true;
      }
      break;
    case kind::subscribed: // §3.1.6
      if (s.pending_out) {
        n.pending_out = false;
        n.sub = s.from() ? flow::both : flow::to;
        fx.deliver = true;
      }
      break;
    case kind::unsubscribe: // §3.3.3
      if (s.from() || s.pending_in) {
        // The contact was subscribed: it sees the user go offline (from
        // every available resource) before it stops hearing.
        if (s.from())
          fx.presence = presence_to_contact::unavailable;
        n.pending_in = false;
        n.approved = false;
        n.sub = without_from(s); // A.2.3: To + Pending In -> To
        fx.deliver = true;
      }
      break;
    case kind::unsubscribed: // §3.2.3
      if (s.to() || s.pending_out) {
        n.pending_out = false;
        n.sub = without_to(s); // A.2.4: From + Pending Out -> From
        fx.deliver = true;
      }
      break;
  }
  settle(s, o);
  return o;
}

bool adds_request(const state& s, kind k) {
  return k == kind::subscribe && !s.from() && !s.approved && !s.pending_in;
}

std::optional<kind> parse_kind(std::string_view type) {
  if (type == "subscribe")
    return kind::subscribe;
  if (type == "subscribed")
    return kind::subscribed;
  if (type == "unsubscribe")
    return kind::unsubscribe;
  if (type == "unsubscribed")
    return kind::unsubscribed;
  return std::nullopt;
}

flow parse_flow(std::string_view text) {
  if (text == "to")
    return flow::to;
  if (text == "from")
    return flow::from;
  if (text == "both")
    return flow::both;
  return flow::none;
}

const char* to_string(flow f) {
  switch (f) {
    case flow::to:
      return "to";
    case flow::from:
      return "from";
    case flow::both:
      return "both";
    default:
      return "none";
  }
}

} // namespace dja::subscription
