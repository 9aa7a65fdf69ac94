#pragma once

// The `external` plugin with `protocol = "jsonl"`: any hook of the
// catalogue served by a program over newline-delimited JSON-RPC 2.0
// (docs/plugins.md, "The jsonl protocol"). What it serves is what the
// program lists in its answer to `initialize`, asked once by the config
// check (describe()) and again by each process it starts.

#include <chrono>

#include <caf/fwd.hpp>
#include <toml++/toml.h>

#include "hooks/plugin.hpp"

namespace dja::plugins::external {

/// How long one call may take, for every protocol: `call_timeout_ms`, or
/// `timeout` in seconds (the name Prosody's external_auth_timeout and
/// the issue tracker use), else 3 s.
std::chrono::milliseconds call_timeout(const toml::table& options);

} // namespace dja::plugins::external

namespace dja::plugins::external::jsonl {

/// The manifest of a block: the program's answer to `initialize` (asked
/// once per configuration; `error` set when it fails the handshake).
manifest describe(const toml::table& options);

/// The dispatcher actor and its `instances` worker processes.
caf::actor spawn(const spawn_context& ctx);

} // namespace dja::plugins::external::jsonl
