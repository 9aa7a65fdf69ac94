#pragma once

// The state of one push plugin actor (plugins/push/serve.hpp):
// registrations in the store; in memory, the throttle of each
// registration (one notification per burst of messages) and the
// notifications whose answer is awaited (an error disables the
// registration, XEP-0357 §8). serve.cpp: enable/disable; wake.cpp:
// notifications and their answers.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/stateful_actor.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/docs/store.hpp"
#include "plugins/push/registration.hpp"

namespace dja::plugins::push {

using docs::reply_t;
using clock = std::chrono::steady_clock;

/// The plugin's options (README.md).
struct settings {
  bool include_sender = true;
  bool include_body = false;
  std::chrono::seconds burst{30};
  int64_t max_registrations = 16;
};

struct push_state {
  static inline const char* name = "push";

  std::string tag;
  std::string domain;
  settings opts;
  std::shared_ptr<docs::store> db;

  /// A registration's burst: when it was last notified and the messages
  /// counted since (the next notification's message-count).
  struct burst {
    clock::time_point last{};
    int64_t count = 0;
  };
  /// By account + "\n" + registration key.
  std::unordered_map<std::string, burst> bursts;

  /// A notification sent and not answered yet, by its iq id.
  struct awaited {
    std::string user; ///< local part
    std::string key;  ///< the registration's
    jid app;
  };
  std::unordered_map<std::string, awaited> pending;
  std::deque<std::string> pending_order; ///< oldest first, for the bound
  uint64_t seq = 0;
  std::string id_prefix; ///< random, so that ids cannot be guessed

  // --- serve.cpp ---
  reply_t on_iq(const hooks::iq_request& r);
  reply_t enable(const hooks::iq_request& r, const xml::element& e);
  reply_t disable(const hooks::iq_request& r, const xml::element& e);
  /// Makes room for one more registration of `user` (the least recently
  /// enabled goes); false on a storage failure.
  bool make_room(const std::string& user, const std::string& key);

  // --- wake.cpp ---
  void on_wake(const hooks::push_wake& w);
  /// An iq result/error to the server: true when it answers one of ours.
  bool on_answer(const hooks::iq_request& r);
  void notify(const hooks::push_wake& w, const registration& reg,
              const xml::element& msg, int64_t count);
  /// The stored registrations of `user` (nullopt: the store failed).
  std::optional<std::vector<registration>> load(const std::string& user);
};

using push_actor = caf::stateful_actor<push_state>;

} // namespace dja::plugins::push
