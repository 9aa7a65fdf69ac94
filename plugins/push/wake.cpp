// XEP-0357 §7 and §8 on the push feature actor (state.hpp): a message
// for a sleeping device (`push.wake`: its session detached or inactive,
// or the message stored offline) becomes one notification per
// registration and burst: the first message notifies, those in the next
// `burst_s` seconds only count, and the next one after that notifies
// with the count. A session's wake reaches the registrations its own
// resource enabled; a stored message, every registration of the
// account. The app server's error disables the registration (§8),
// except a temporary one (type "wait"), logged either way.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "plugins/push/notification.hpp"
#include "plugins/push/state.hpp"

namespace dja::plugins::push {

namespace {

/// Notifications awaiting an answer, at most; the oldest is forgotten
/// (an app server that never answers disables nothing).
constexpr std::size_t max_pending = 4096;
/// Bursts kept before the finished ones are forgotten.
constexpr std::size_t max_bursts = 4096;
/// last-message-body is cut here (on a UTF-8 boundary).
constexpr std::size_t max_body = 512;

std::string cut(std::string s) {
  if (s.size() <= max_body)
    return s;
  auto n = max_body;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  s.resize(n);
  return s;
}

} // namespace

std::optional<std::vector<registration>>
push_state::load(const std::string& user) {
  auto keys = db->sizes(user);
  if (!keys) {
    docs::failed(tag, domain, "wake", keys.error());
    return std::nullopt;
  }
  std::vector<registration> out;
  for (auto& [key, _] : *keys) {
    auto doc = docs::parsed(db->get(user, key), tag, domain, "wake", user);
    if (!doc)
      return std::nullopt;
    if (*doc)
      if (auto reg = parse_stored(**doc))
        out.push_back(std::move(*reg));
  }
  return out;
}

void push_state::on_wake(const hooks::push_wake& w) {
  if (w.to.domain() != domain || !w.stanza)
    return;
  const auto* msg = worth_waking(*w.stanza);
  if (msg == nullptr)
    return;
  auto user = w.to.local();
  auto regs = load(user);
  if (!regs)
    return;
  auto now = clock::now();
  if (bursts.size() > max_bursts)
    for (auto i = bursts.begin(); i != bursts.end();)
      i = now - i->second.last > opts.burst ? bursts.erase(i) : std::next(i);
  for (auto& reg : *regs) {
    if (w.to.is_full() && reg.resource != w.to.resource())
      continue; // another device's session
    auto& b = bursts[user + "\n" + reg.key()];
    ++b.count;
    if (b.last != clock::time_point{} && now - b.last < opts.burst)
      continue; // in the burst of the last notification
    notify(w, reg, *msg, b.count);
    b.last = now;
    b.count = 0;
  }
}

void push_state::notify(const hooks::push_wake& w, const registration& reg,
                        const xml::element& msg, int64_t count) {
  summary s{count, {}, {}};
  if (opts.include_sender)
    s.sender = msg.attr_or("from");
  if (opts.include_body)
    if (auto* body = msg.child("body"))
      s.body = cut(body->text());
  auto id = id_prefix + std::to_string(++seq);
  auto user = w.to.bare();
  auto iq = notification(reg, user, id, s);
  pending.emplace(id, awaited{w.to.local(), reg.key(), reg.app});
  pending_order.push_back(id);
  if (pending_order.size() > max_pending) {
    pending.erase(pending_order.front());
    pending_order.pop_front();
  }
  spdlog::debug("{}: vhost {}: notification {} for {} to {}", tag, domain,
                id, user.str(), reg.app.str());
  caf::anon_send(w.router.shard_for(reg.app),
                 msg::route{std::move(iq), user, reg.app});
}

bool push_state::on_answer(const hooks::iq_request& r) {
  auto i = pending.find(r.stanza->attr_or("id"));
  if (i == pending.end())
    return false;
  auto from = jid::parse(r.stanza->attr_or("from"));
  // Only the app server (or the server bouncing our iq on its behalf)
  // answers for it.
  if (!from || *from != i->second.app)
    return false;
  auto a = std::move(i->second);
  pending.erase(i);
  if (r.stanza->attr_or("type") != "error")
    return true;
  auto* err = r.stanza->child("error");
  auto type = err ? err->attr_or("type") : std::string{};
  auto* cond = err ? err->first_element() : nullptr;
  auto what = cond ? cond->name : std::string{"error"};
  if (type == "wait") { // temporary (RFC 6120 §8.3.2): keep it
    spdlog::info("{}: vhost {}: app server {} answered {} (wait) for {}",
                 tag, domain, a.app.str(), what, a.user);
    return true;
  }
  // XEP-0357 §8: the app server no longer serves this node.
  if (auto e = db->remove(a.user, a.key))
    docs::failed(tag, domain, "disable", e);
  bursts.erase(a.user + "\n" + a.key);
  spdlog::info("{}: vhost {}: app server {} answered {}: push to node '{}' "
               "of {} disabled",
               tag, domain, a.app.str(), what,
               a.key.substr(a.key.find('\n') + 1), a.user);
  return true;
}

} // namespace dja::plugins::push
