// XEP-0352 Client State Indication on a session. After <inactive/> the
// session holds what the client can read later: presence updates (folded:
// only the latest from each full JID is kept) and chat-state-only
// messages (XEP-0085, folded per conversation). Anything else the client
// must see now (a message with a body, an iq, an error, a subscription
// request, a message with the XEP-0334 <store/> hint) goes out after
// everything held, in arrival order; so does all of it at <active/> and
// when more than [limits] csi_queue stanzas are held. §5 leaves what to
// hold to the server; this is what Prosody's mod_csi_simple does.
//
// What is held outlives the connection as SM's queue does (csi_take()):
// when a session with XEP-0198 detaches it joins the queue resent at
// the resumption (after the unacknowledged stanzas, so that no older
// presence is flushed after a newer one); when the session ends, held
// messages are routed again like the rest (give_back(): another
// resource or offline storage, RFC 6121 §8.5), and held presence is
// dropped because it is no longer relevant: it is the state of a
// contact for this full JID only, which the router would ignore now
// (RFC 6121 §8.5.3.2.1), and the client's next session learns the
// current state by probing (RFC 6121 §4.2).

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/carbons.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

/// A chat state alone (XEP-0085 §5.5: a standalone notification): chat
/// state, <thread/> and hints other than <store/> (XEP-0334 §4.4).
bool chat_state_only(const xml::element& m) {
  bool state = false;
  for (auto* c : m.elements()) {
    if (c->ns == ns::chatstates)
      state = true;
    else if (c->ns == ns::hints ? c->name == "store" : c->name != "thread")
      return false;
  }
  return state;
}

/// What `e` folds with while held: "" when it must go out now.
std::string fold_key(const xml::element& e) {
  auto type = e.attr_or("type");
  if (e.name == "presence") {
    // RFC 6121 §4: availability; subscriptions, probes and errors wait
    // for an answer from the user.
    if (!type.empty() && type != "unavailable")
      return {};
    return "p " + e.attr_or("from");
  }
  if (e.name != "message" || type == "error" || type == "groupchat")
    return {};
  // A carbon folds by the conversation of the message it wraps.
  auto dir = carbons::direction::received;
  const auto* m = carbons::inner(e, &dir);
  const char* kind = "s ";
  if (m == nullptr)
    m = &e;
  else
    kind = dir == carbons::direction::sent ? "cs " : "cr ";
  if (!chat_state_only(*m))
    return {};
  auto peer = jid::parse(m->attr_or(dir == carbons::direction::sent ? "to"
                                                                    : "from"));
  return peer ? kind + peer->bare_str() : std::string{};
}

} // namespace

void session_state::on_csi(const xml::element& e) {
  if (!vhost || !vhost->csi)
    return; // the connection passes nonzas on only when offered
  if (e.name == "inactive") {
    if (!csi)
      csi = std::make_unique<csi_hold>();
  } else if (e.name == "active") {
    csi_flush();
    csi.reset();
  } else {
    spdlog::debug("{}: unknown CSI element <{}/> ignored", full.str(),
                  e.name);
  }
}

bool session_state::csi_holds(const xml::element_ptr& e) {
  auto key = fold_key(*e);
  if (key.empty()) {
    csi_flush(); // what was held first, then `e`
    return false;
  }
  if (auto i = csi->slot.find(key); i != csi->slot.end()) {
    csi->queue.erase(i->second); // folded: only the latest is kept
    csi->slot.erase(i);
  }
  csi->queue.push_back(e);
  csi->slot.emplace(std::move(key), std::prev(csi->queue.end()));
  if (csi->queue.size() > ctx->limits.csi_queue)
    csi_flush();
  return true;
}

void session_state::csi_flush() {
  if (!csi || csi->queue.empty())
    return;
  auto out = std::move(csi->queue);
  csi->queue.clear();
  csi->slot.clear();
  for (auto& e : out)
    if (detached())
      sm_queue(std::move(e)); // XEP-0198: kept for the resumption
    else
      self->send(conn, msg::to_client{std::move(e)});
}

std::vector<xml::element_ptr> session_state::csi_take() {
  std::vector<xml::element_ptr> out;
  if (!csi)
    return out;
  out.reserve(csi->queue.size());
  for (auto& e : csi->queue)
    out.push_back(std::move(e));
  csi->queue.clear();
  csi->slot.clear();
  return out;
}

bool session_state::csi_holding() const {
  return csi && !csi->queue.empty();
}

} // namespace dja
