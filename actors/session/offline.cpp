// Offline messages on a session (XEP-0160): at the first available
// presence of non-negative priority the session fetches what was stored
// for the user, writes it to the client, and only then tells the store to
// forget it. Two phases, so that a session (or connection) that dies in
// between loses nothing: the stanzas stay stored and come at the next
// login (at-least-once; a client may see one twice after such a crash).

#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

/// The connection answers at once; this only bounds a wedged one.
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
        std::vector<int64_t> ids;
        ids.reserve(stored.size());
        std::vector<xml::element_ptr> out;
        for (auto& m : stored) {
          ids.push_back(m.id);
          if (!blocked_inbound(*m.stanza)) // stored before a block
            out.push_back(std::move(m.stanza));
        }
        if (out.empty()) { // all blocked: nothing to write, just forget
          remove_offline(std::move(ids));
          release_held();
          return;
        }
        auto last = std::move(out.back());
        out.pop_back();
        for (auto& e : out)
          to_client(std::move(e));
        // The last one as a request: the connection answers once it has
        // written it to its socket buffer, and (mailbox order) every
        // stanza sent before it. A connection that is gone answers with
        // an error, and the stanzas stay stored.
        self->request(conn, written_timeout, msg::to_client{std::move(last)})
          .then(
            [this, ids]() mutable { remove_offline(std::move(ids)); },
            [this](caf::error& err) {
              spdlog::info("{}: offline messages not confirmed written ({}); "
                           "kept for the next login",
                           full.str(), caf::to_string(err));
            });
        release_held(); // after the stored ones, in the connection's mailbox
      },
      [this](caf::error& err) {
        spdlog::error("{}: offline messages not fetched: {}", full.str(),
                      caf::to_string(err));
        release_held();
      });
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
