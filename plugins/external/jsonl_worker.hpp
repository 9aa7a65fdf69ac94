#pragma once

// One process of the `external` plugin with `protocol = "jsonl"`
// (docs/plugins.md, "The jsonl protocol"), served by a detached actor:
// the `initialize` handshake, request ids with up to `concurrency` calls
// in flight, per-call timeouts, junk on stdout, exits, and restarts with
// back-off. stdout is read line by line on a thread of the process
// (plugins/external/process.hpp) that hands each line to the actor.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "plugins/external/jsonl_codec.hpp"
#include "plugins/external/process.hpp"

namespace dja::plugins::external::jsonl {

/// A hook call for the program: a JSON-RPC method and its params.
struct call {
  std::string method;
  json params;
};

using line_atom = caf::atom_constant<caf::atom("jl_line")>;
using start_atom = caf::atom_constant<caf::atom("jl_start")>;
using timeout_atom = caf::atom_constant<caf::atom("jl_tmo")>;
using init_tmo_atom = caf::atom_constant<caf::atom("jl_itmo")>;
/// `(notify_atom, call)`: a notification, no reply.
using notify_atom = caf::atom_constant<caf::atom("jl_note")>;
/// `(state_atom, index, worker_status)`: a worker tells its dispatcher.
using state_atom = caf::atom_constant<caf::atom("jl_state")>;

/// Where a worker's process is.
enum class worker_status : uint8_t {
  down,     ///< waiting for its back-off to end
  starting, ///< `initialize` sent, no answer yet
  ready,
};

struct worker_config {
  std::vector<std::string> argv;
  std::string tag; ///< log prefix, e.g. "external: vhost x[0]"
  size_t index = 0;
  caf::actor parent; ///< told of each status change
  json init_params;  ///< the params of `initialize`
  std::chrono::milliseconds timeout{3000};
  std::chrono::milliseconds start_timeout{5000};
  int max_timeouts = 3;
  size_t concurrency = 8; ///< calls in flight
  size_t queue_limit = 1000; ///< calls owed, in flight or waiting
};

struct worker_state {
  struct owed {
    std::string method;
    json params;
    caf::response_promise rp;
    bool sent = false;
  };
  worker_config cfg;
  process proc;
  uint64_t gen = 0; ///< of the process: lines of an old one are ignored
  worker_status status = worker_status::down;
  std::unordered_map<uint64_t, owed> calls; ///< by JSON-RPC id
  std::deque<uint64_t> waiting;             ///< not sent yet, in order
  size_t in_flight = 0;
  uint64_t next_id = 1; ///< 0 is `initialize`
  int timeouts = 0;     ///< in a row
  std::chrono::milliseconds backoff{0};
  static inline const char* name = "external.jsonl";
};

/// Handles `call` -> json (the result; null = declined) and
/// `(notify_atom, call)`.
caf::behavior worker(caf::stateful_actor<worker_state>* self,
                     worker_config cfg);

/// The handshake of the config check: starts `argv`, sends `initialize`
/// with `params`, returns its result or, in `err`, why the program is
/// refused (its stderr included), and stops it.
json handshake(const std::vector<std::string>& argv, const json& params,
               std::chrono::milliseconds timeout, std::string& err);

/// A `initialize` result's problem, or "": an object with "hooks".
std::string check_init_result(const json& result);

} // namespace dja::plugins::external::jsonl

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::external::jsonl::call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::external::jsonl::worker_status)
