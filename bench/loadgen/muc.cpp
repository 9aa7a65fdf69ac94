// --mode muc: multi-user chat load (XEP-0045), plain protocol only, so the
// same run works on any server's MUC service.
//
// Client i joins room (i % rooms) as nick user(i) with <history
// maxstanzas='0'/> (§7.2.15, no history). The rooms' first occupants join
// first (phase create); when one is told the room is new (status 201,
// §10.1.1) it accepts the default configuration with an empty submit form
// (instant room, §10.1.2), which unlocks the room. Then everyone else joins
// (phase join). A join is done at the occupant's own presence (status 110,
// §7.2.2); a presence of type error fails it (§7.2.6 onwards).
// Clients 0 .. senders-1 send groupchat messages (§7.4) with the body
// "T SEQ SENDER" (T: CLOCK_MONOTONIC ns at sending or, with --rate, the
// scheduled time). The room reflects every message to every occupant,
// sender included; every occupant counts what it receives, the sender's own
// copy is its acknowledgement (closed loop: --inflight per sender).

#include <charconv>

#include "worker.hpp"

namespace lg {

namespace {

/// A <status code='N'/> child, with either quote.
bool has_status(std::string_view stanza, std::string_view code) {
  std::string a = "code='" + std::string(code) + "'";
  std::string b = "code=\"" + std::string(code) + "\"";
  return contains(stanza, a) || contains(stanza, b);
}

} // namespace

std::string worker::room_jid(const client& c) const {
  return opt_.room_prefix + std::to_string(c.room) + "@" + opt_.muc_service;
}

bool worker::muc_sender(const client& c) const {
  return opt_.run_mode == mode::muc && c.index < opt_.senders
         && c.state == cstate::online && c.muc == mstate::joined;
}

void worker::on_muc_phase(phase p) {
  joins_.clear();
  next_join_ = 0;
  for (auto& c : clients_) {
    c.room = c.index % opt_.rooms;
    bool owner = c.index < opt_.rooms;
    if (owner != (p == phase::create))
      continue;
    bool can_join = c.state == cstate::online
                    && (owner || sh_.room_state[c.room].load() == 1);
    if (can_join) {
      joins_.push_back(&c);
      continue;
    }
    // a client that is not logged in, or whose room could not be made
    c.muc = mstate::failed;
    if (owner) {
      sh_.room_state[c.room].store(2);
      sh_.rooms_finished.fetch_add(1);
    }
    sh_.joins_finished.fetch_add(1);
  }
}

void worker::start_join(client& c) {
  c.muc = mstate::joining;
  c.t_join = now_ns();
  c.deadline = c.t_join + int64_t(opt_.join_timeout * 1e9);
  if (stats.first_join == 0)
    stats.first_join = c.t_join;
  ++joins_in_flight_;
  send(c, "<presence to='" + room_jid(c) + "/" + opt_.user(c.index)
            + "'><x xmlns='http://jabber.org/protocol/muc'>"
              "<history maxstanzas='0'/></x></presence>");
}

void worker::joined(client& c) {
  int64_t now = now_ns();
  c.muc = mstate::joined;
  --joins_in_flight_;
  stats.join_latency.add(uint64_t(now - c.t_join));
  stats.last_join = std::max(stats.last_join, now);
  sh_.room_members[c.room].fetch_add(1);
  sh_.joins_ok.fetch_add(1);
  if (c.index < opt_.rooms) {
    sh_.room_state[c.room].store(1);
    sh_.rooms_finished.fetch_add(1);
  }
  sh_.joins_finished.fetch_add(1, std::memory_order_release);
}

void worker::join_failed(client& c, std::string_view why) {
  if (c.muc != mstate::joining && c.muc != mstate::configuring)
    return;
  log_error(c, err_join, why);
  c.muc = mstate::failed;
  --joins_in_flight_;
  if (c.index < opt_.rooms) {
    sh_.room_state[c.room].store(2);
    sh_.rooms_finished.fetch_add(1);
  }
  sh_.joins_finished.fetch_add(1, std::memory_order_release);
}

/// Stanzas of the MUC mode; false: not ours, the generic handling goes on.
bool worker::on_muc_stanza(client& c, std::string_view name) {
  auto head = c.in.head();
  if (name == "presence") {
    ++stats.presences;
    auto stanza = c.in.stanza();
    auto from = attr(head, "from");
    std::string self = room_jid(c) + "/" + opt_.user(c.index);
    bool mine = from == self || from.substr(0, from.find('/')) == room_jid(c);
    if (!mine || c.muc != mstate::joining)
      return true;
    if (attr(head, "type") == "error") {
      join_failed(c, stanza);
      return true;
    }
    if (from != self && !has_status(stanza, "110"))
      return true; // another occupant's presence
    if (has_status(stanza, "201")) { // §10.1.2: accept the default config
      c.muc = mstate::configuring;
      send(c, "<iq type='set' id='lg-cfg' to='" + room_jid(c)
                + "'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                  "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
      return true;
    }
    joined(c);
    return true;
  }
  if (name == "iq" && attr(head, "id") == "lg-cfg"
      && c.muc == mstate::configuring) {
    if (attr(head, "type") == "result")
      joined(c);
    else
      join_failed(c, c.in.stanza());
    return true;
  }
  if (name == "message" && attr(head, "type") == "groupchat") {
    on_groupchat(c);
    return true;
  }
  return false;
}

void worker::send_groupchat(client& from, int64_t stamp) {
  char body[64];
  int n = std::snprintf(body, sizeof body, "%lld %llu %ld",
                        static_cast<long long>(stamp),
                        static_cast<unsigned long long>(from.next_seq++),
                        from.index);
  send(from, "<message to='" + room_jid(from) + "' type='groupchat'><body>");
  send(from, std::string_view(body, size_t(n)));
  send(from, "</body></message>");
  ++from.inflight;
  ++stats.sent;
  sh_.room_sent[from.room].fetch_add(1, std::memory_order_relaxed);
  sh_.expected.fetch_add(sh_.room_members[from.room].load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
  sh_.sent.fetch_add(1, std::memory_order_relaxed);
}

void worker::on_groupchat(client& c) {
  auto stanza = c.in.stanza();
  auto body = child_text(stanza, "body");
  long long stamp = 0;
  unsigned long long seq = 0;
  long sender = -1;
  auto sp1 = body.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : body.find(' ', sp1 + 1);
  // history (a <delay/>, §7.2.15) and the subject are not ours
  if (c.muc != mstate::joined || sp2 == std::string_view::npos
      || contains(stanza, "urn:xmpp:delay")
      || std::from_chars(body.data(), body.data() + sp1, stamp).ec != std::errc()
      || std::from_chars(body.data() + sp1 + 1, body.data() + sp2, seq).ec
           != std::errc()
      || std::from_chars(body.data() + sp2 + 1, body.data() + body.size(), sender).ec
           != std::errc()) {
    ++stats.other_stanzas;
    return;
  }
  int64_t now = now_ns();
  bool in_window = now >= sh_.measure_start && now < sh_.measure_end;
  if (in_window) {
    stats.msg_latency.add(uint64_t(std::max<int64_t>(0, now - stamp)));
    ++stats.measured;
  }
  ++c.muc_received;
  ++stats.received;
  sh_.received.fetch_add(1, std::memory_order_relaxed);
  if (sender != c.index)
    return;
  // our own message back: the acknowledgement of the closed loop
  if (in_window)
    ++stats.echoes_measured;
  if (c.inflight > 0)
    --c.inflight;
  if (opt_.rate <= 0)
    pump(c);
}

void worker::tally(muc_tally& t) const {
  for (auto& c : clients_) {
    if (c.muc != mstate::joined)
      continue;
    ++t.occupants;
    uint64_t due = sh_.room_sent[c.room].load();
    if (c.muc_received < due) {
      t.missing += due - c.muc_received;
      ++t.short_occupants;
    } else {
      t.extra += c.muc_received - due;
    }
  }
}

} // namespace lg
