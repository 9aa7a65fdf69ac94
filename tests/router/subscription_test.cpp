#define CAF_SUITE router.subscription

// RFC 6121 Appendix A, row by row, against the pure transition functions
// of actors/router/subscription.hpp: for each of the nine states and each
// subscription stanza the user sends (A.3) or receives (A.2), the new
// state and what the server does (route or deliver, <subscribed/> on the
// user's behalf, the user's presence to the contact, store, roster push).
//
// The starting states are those a roster shows (as in the scenarios
// scenarios/im/appendix_a_*.scenario): "None" is no record at all, "None +
// Pending In" a request alone from a contact the user never added (not in
// her roster, §3.1.3); every other state is a listed contact. Rows after
// the table cover a listed None + Pending In and pre-approval (§3.4).

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "router/subscription.hpp"

using namespace dja::subscription;

namespace {

/// Appendix A's name of a state, with the flags it does not name.
std::string describe(const state& s) {
  static const char* names[] = {"None", "To", "From", "Both"};
  std::string out = names[static_cast<int>(s.sub)];
  if (s.pending_out && s.pending_in)
    out += " + Pending Out+In";
  else if (s.pending_out)
    out += " + Pending Out";
  else if (s.pending_in)
    out += " + Pending In";
  if (s.approved)
    out += " + Pre-approved";
  if (!s.listed)
    out += " (unlisted)";
  return out;
}

/// The state `describe` names `text` (every combination is tried).
state parse_state(const std::string& text) {
  for (int f = 0; f < 4; ++f)
    for (int bits = 0; bits < 16; ++bits) {
      state s{static_cast<flow>(f), (bits & 1) != 0, (bits & 2) != 0,
              (bits & 4) != 0, (bits & 8) != 0};
      if (describe(s) == text)
        return s;
    }
  CAF_FAIL("no state is named " << text);
  return {};
}

/// The effects as words, in the order the shard carries them out.
std::string describe(const effects& fx) {
  std::string out;
  auto add = [&](bool on, const char* word) {
    if (!on)
      return;
    if (!out.empty())
      out += ' ';
    out += word;
  };
  add(fx.forward, "route");
  add(fx.deliver, "deliver");
  add(fx.reply_subscribed, "reply-subscribed");
  add(fx.presence == presence_to_contact::current, "presence");
  add(fx.presence == presence_to_contact::unavailable, "unavailable");
  add(fx.store == store_op::save, "save");
  add(fx.store == store_op::remove, "remove");
  add(fx.push, "push");
  return out.empty() ? "-" : out;
}

enum direction { out, in };

struct row {
  const char* before;
  direction dir;
  kind k;
  const char* after; ///< nullptr: no state change
  const char* fx;
};

// The starting states of Appendix A.
const char* const N = "None (unlisted)"; // no record
const char* const NPO = "None + Pending Out";
const char* const NPI = "None + Pending In (unlisted)"; // a request alone
const char* const NPOI = "None + Pending Out+In";
const char* const T = "To";
const char* const TPI = "To + Pending In";
const char* const F = "From";
const char* const FPO = "From + Pending Out";
const char* const B = "Both";
const char* const same = nullptr;

constexpr auto sub = kind::subscribe;
constexpr auto subd = kind::subscribed;
constexpr auto unsub = kind::unsubscribe;
constexpr auto unsubd = kind::unsubscribed;

const std::vector<row> appendix_a = {
  // A.3.1 outbound subscribe (§3.1.2): always routed.
  {N, out, sub, NPO, "route save push"},
  {NPO, out, sub, same, "route"},
  {NPI, out, sub, NPOI, "route save push"},
  {NPOI, out, sub, same, "route"},
  {T, out, sub, same, "route"},
  {TPI, out, sub, same, "route"},
  {F, out, sub, FPO, "route save push"},
  {FPO, out, sub, same, "route"},
  {B, out, sub, same, "route"},
  // A.3.2 outbound unsubscribe (§3.3.2): always routed.
  {N, out, unsub, same, "route"},
  {NPO, out, unsub, "None", "route save push"},
  {NPI, out, unsub, same, "route"},
  {NPOI, out, unsub, "None + Pending In", "route save push"},
  {T, out, unsub, "None", "route save push"},
  {TPI, out, unsub, "None + Pending In", "route save push"},
  {F, out, unsub, same, "route"},
  {FPO, out, unsub, F, "route save push"},
  {B, out, unsub, F, "route save push"},
  // A.3.3 outbound subscribed (§3.1.5): routed only to approve Pending
  // In, with the user's current presence; otherwise a pre-approval
  // (§3.4), or nothing when the contact is subscribed already.
  {N, out, subd, "None + Pre-approved", "save push"},
  {NPO, out, subd, "None + Pending Out + Pre-approved", "save push"},
  {NPI, out, subd, F, "route presence save push"},
  {NPOI, out, subd, FPO, "route presence save push"},
  {T, out, subd, "To + Pre-approved", "save push"},
  {TPI, out, subd, B, "route presence save push"},
  {F, out, subd, same, "-"},
  {FPO, out, subd, same, "-"},
  {B, out, subd, same, "-"},
  // A.3.4 outbound unsubscribed (§3.2.2): routed when it cancels or
  // denies something, followed by unavailable presence; a denied
  // request alone leaves no record.
  {N, out, unsubd, same, "-"},
  {NPO, out, unsubd, same, "-"},
  {NPI, out, unsubd, N, "route unavailable remove"},
  {NPOI, out, unsubd, NPO, "route unavailable save"},
  {T, out, unsubd, same, "-"},
  {TPI, out, unsubd, T, "route unavailable save"},
  {F, out, unsubd, "None", "route unavailable save push"},
  {FPO, out, unsubd, NPO, "route unavailable save push"},
  {B, out, unsubd, T, "route unavailable save push"},
  // A.2.1 inbound subscribe (§3.1.3): kept as Pending In (not shown, so
  // not pushed) and delivered to available resources; answered by the
  // server when the contact is subscribed already.
  {N, in, sub, NPI, "deliver save"},
  {NPO, in, sub, NPOI, "deliver save"},
  {NPI, in, sub, same, "deliver"},
  {NPOI, in, sub, same, "deliver"},
  {T, in, sub, TPI, "deliver save"},
  {TPI, in, sub, same, "deliver"},
  {F, in, sub, same, "reply-subscribed"},
  {FPO, in, sub, same, "reply-subscribed"},
  {B, in, sub, same, "reply-subscribed"},
  // A.2.2 inbound subscribed (§3.1.6): only an outstanding request.
  {N, in, subd, same, "-"},
  {NPO, in, subd, T, "deliver save push"},
  {NPI, in, subd, same, "-"},
  {NPOI, in, subd, TPI, "deliver save push"},
  {T, in, subd, same, "-"},
  {TPI, in, subd, same, "-"},
  {F, in, subd, same, "-"},
  {FPO, in, subd, B, "deliver save push"},
  {B, in, subd, same, "-"},
  // A.2.3 inbound unsubscribe (§3.3.3): a subscribed contact gets the
  // user's unavailable presence; a withdrawn request alone leaves no
  // record.
  {N, in, unsub, same, "-"},
  {NPO, in, unsub, same, "-"},
  {NPI, in, unsub, N, "deliver remove"},
  {NPOI, in, unsub, NPO, "deliver save"},
  {T, in, unsub, same, "-"},
  {TPI, in, unsub, T, "deliver save"},
  {F, in, unsub, "None", "deliver unavailable save push"},
  {FPO, in, unsub, NPO, "deliver unavailable save push"},
  {B, in, unsub, T, "deliver unavailable save push"},
  // A.2.4 inbound unsubscribed (§3.2.3).
  {N, in, unsubd, same, "-"},
  {NPO, in, unsubd, "None", "deliver save push"},
  {NPI, in, unsubd, same, "-"},
  {NPOI, in, unsubd, "None + Pending In", "deliver save push"},
  {T, in, unsubd, "None", "deliver save push"},
  {TPI, in, unsubd, "None + Pending In", "deliver save push"},
  {F, in, unsubd, same, "-"},
  {FPO, in, unsubd, F, "deliver save push"},
  {B, in, unsubd, F, "deliver save push"},
};

const char* kind_name(kind k) {
  static const char* names[] = {"subscribe", "subscribed", "unsubscribe",
                                "unsubscribed"};
  return names[static_cast<int>(k)];
}

void check(const row& r) {
  auto before = parse_state(r.before);
  auto o = r.dir == out ? outbound(before, r.k) : inbound(before, r.k);
  std::string want_state = r.after ? r.after : r.before;
  CAF_MESSAGE((r.dir == out ? "outbound " : "inbound ")
              << kind_name(r.k) << " in " << r.before);
  CAF_CHECK_EQUAL(describe(o.next), want_state);
  CAF_CHECK_EQUAL(describe(o.fx), std::string{r.fx});
  // No state change <=> nothing stored.
  CAF_CHECK_EQUAL(o.next == before, o.fx.store == store_op::keep);
}

} // namespace

CAF_TEST(the table covers every state and stanza in both directions) {
  std::set<std::tuple<std::string, int, int>> seen;
  for (auto& r : appendix_a)
    CAF_CHECK(seen.emplace(r.before, r.dir, static_cast<int>(r.k)).second);
  CAF_CHECK_EQUAL(seen.size(), 9u * 4u * 2u);
}

CAF_TEST(appendix A) {
  for (auto& r : appendix_a)
    check(r);
}

CAF_TEST(a listed contact stays listed as None + Pending In) {
  // Appendix A: unlike a request alone, denying or withdrawing keeps
  // the contact in the roster (with subscription none, nothing shown
  // changes: no push).
  check({"None + Pending In", out, unsubd, "None", "route unavailable save"});
  check({"None + Pending In", in, unsub, "None", "deliver save"});
  check({"None + Pending In", out, subd, F, "route presence save push"});
  check({"None + Pending In", in, sub, same, "deliver"});
  // A contact in the roster with subscription none is a listed None.
  check({"None", out, sub, NPO, "route save push"});
  check({"None", in, sub, "None + Pending In", "deliver save"});
}

CAF_TEST(pre-approval) {
  // §3.4: a pre-approved request is answered by the server at once.
  check({"None + Pre-approved", in, sub, F, "reply-subscribed save push"});
  check({"To + Pre-approved", in, sub, B, "reply-subscribed save push"});
  check({"None + Pending Out + Pre-approved", in, sub, FPO,
         "reply-subscribed save push"});
  // Cancelled by an unsubscribed (not routed: nothing was approved yet).
  check({"None + Pre-approved", out, unsubd, "None", "save push"});
  // An unsubscribe from a contact who is not subscribed changes
  // nothing, the approval included.
  check({"To + Pre-approved", in, unsub, same, "-"});
}

CAF_TEST(only a new request counts toward the pending bound) {
  CAF_CHECK(adds_request(parse_state(N), sub));
  CAF_CHECK(adds_request(parse_state(T), sub));
  CAF_CHECK(adds_request(parse_state(NPO), sub));
  CAF_CHECK(!adds_request(parse_state(NPI), sub));  // already pending
  CAF_CHECK(!adds_request(parse_state(F), sub));    // answered by the server
  CAF_CHECK(!adds_request(parse_state("None + Pre-approved"), sub));
  CAF_CHECK(!adds_request(parse_state(N), subd));
  CAF_CHECK(!adds_request(parse_state(N), unsub));
}

CAF_TEST(stanza types and the subscription text of a roster item) {
  CAF_CHECK(parse_kind("subscribe") == kind::subscribe);
  CAF_CHECK(parse_kind("unsubscribed") == kind::unsubscribed);
  CAF_CHECK(!parse_kind("probe"));
  CAF_CHECK(!parse_kind(""));
  for (auto f : {flow::none, flow::to, flow::from, flow::both})
    CAF_CHECK(parse_flow(to_string(f)) == f);
  CAF_CHECK(parse_flow("garbage") == flow::none);
}
