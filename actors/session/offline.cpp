// Offline messages on a session (XEP-0160): at the first available
// presence of non-negative priority the session fetches what was stored
// for the user, writes it to the client (paced by what the kernel takes,
// so that a long queue stays within limits.write_buffer), and tells the
// store to forget what reached the socket. Two phases, so that a session
// (or connection) that dies in between loses nothing: the stanzas stay
// stored and come at the next login (at-least-once; a client may see one
// twice after such a crash).

#include <algorithm>
#include <chrono>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

/// The connection answers once the kernel took the stanza; a client
/// that reads nothing for this long gets the rest at its next login.
constexpr auto written_timeout = std::chrono::seconds(30);

} // namespace

void session_state::deliver_local(xml::element_ptr e) {
  if (blocked_inbound(*e)) // XEP-0191 (blocking.cpp)
    return;
  if (held) // stored stanzas are on their way: these come after them
    held->push_back(std::move(e));
  else
    to_client(std::move(e));
}

void session_state::release_held() {
  if (!held)
    return;
  auto live = std::move(*held);
  held.reset();
  for (auto& e : live)
    to_client(std::move(e));
}

/// XEP-0160 §3: stored messages go out with the first available
/// presence of non-negative priority, oldest first, before anything the
/// router delivers meanwhile.
void session_state::fetch_offline() {
  offline_fetched = true;
  if (vhost == nullptr)
    return;
  held.emplace();
  self->request(vhost->actor, caf::infinite, hooks::offline_fetch{bare})
    .then(
      [this](std::vector<hooks::offline_message>& stored) {
        if (stored.empty() || closed) { // closing: leave them stored
          release_held();
          return;
        }
        offline = std::make_unique<offline_flight>();
        offline->out = std::move(stored);
        send_offline();
      },
      [this](caf::error& err) {
        spdlog::error("{}: offline messages not fetched: {}", full.str(),
                      caf::to_string(err));
        release_held();
      });
}

void session_state::send_offline() {
  // Each stanza is a request: the connection answers once the kernel
  // has taken its last byte (or with an error when the stream is cut
  // first), so at most a window of them waits in the connection, and
  // only what reached the client's socket is removed from the store.
  auto window = std::max<std::size_t>(ctx->limits.write_buffer / 2, 1);
  auto& f = *offline;
  while (!f.failed && f.next < f.out.size()
         && f.in_flight < window) {
    auto m = std::move(f.out[f.next++]);
    if (blocked_inbound(*m.stanza)) { // stored before a block: forget it
      f.done.push_back(m.id);
      continue;
    }
    auto size = xml::to_string(*m.stanza).size();
    f.in_flight += size;
    self->request(conn, written_timeout, msg::to_client{std::move(m.stanza)})
      .then(
        [this, id = m.id, size] {
          offline->in_flight -= size;
          offline->done.push_back(id);
          send_offline();
        },
        [this, size](caf::error& err) {
          offline->in_flight -= size;
          if (!offline->failed)
            spdlog::info("{}: offline messages not confirmed written ({}); "
                         "the rest kept for the next login",
                         full.str(), caf::to_string(err));
          offline->failed = true;
          send_offline();
        });
  }
  if (f.done.size() >= 256) // remove as we go on a long queue
    remove_offline(std::exchange(f.done, {}));
  if (f.in_flight > 0
      || (!f.failed && f.next < f.out.size()))
    return;
  if (!f.done.empty())
    remove_offline(std::exchange(f.done, {}));
  offline.reset();
  release_held(); // after the stored ones, in the connection's mailbox
}

/// The second phase: the store forgets what was written.
void session_state::remove_offline(std::vector<int64_t> ids) {
  auto n = ids.size();
  self
    ->request(vhost->actor, caf::infinite,
              hooks::offline_remove{bare, std::move(ids)})
    .then(
      [this, n](bool removed) {
        if (!removed)
          spdlog::error("{}: {} offline messages written but not removed "
                        "(no plugin took offline.remove)",
                        full.str(), n);
      },
      [this](caf::error& err) {
        spdlog::error("{}: offline messages written but not removed: {}; "
                      "they come again at the next login",
                      full.str(), caf::to_string(err));
      });
}

} // namespace dja
