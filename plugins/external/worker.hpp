#pragma once

// One process of the `external` plugin, served by a detached actor (its
// calls block on the pipes with a deadline, on a thread of their own):
// the framing of the ejabberd and Prosody protocols, timeouts, junk on
// stdout, exits, and restarts with back-off.

#include <chrono>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>

#include "plugins/external/process.hpp"

namespace dja::plugins::external {

struct worker_config {
  std::vector<std::string> argv;
  bool line_based = false; ///< Prosody's protocol, else ejabberd's
  std::string tag;         ///< log prefix, e.g. "external: vhost x[0]"
  std::chrono::milliseconds timeout{3000};
  int max_timeouts = 3;
};

struct worker_state {
  worker_config cfg;
  process proc;
  /// Replies still owed for calls that timed out: the program answers in
  /// order, so that many replies are dropped before ours (a late "1" is
  /// never taken for another user's answer).
  int stale = 0;
  int timeouts = 0; ///< in a row
  clock::time_point next_start{};
  std::chrono::milliseconds backoff{0};
  static inline const char* name = "external.worker";
};

/// Handles `std::string` (a command without framing) -> bool (1 / 0).
caf::behavior worker(caf::stateful_actor<worker_state>* self,
                     worker_config cfg);

} // namespace dja::plugins::external
