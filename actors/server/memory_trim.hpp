#pragma once

// Returning memory after a wave of connections closes. glibc's malloc
// keeps freed memory in its arenas at the peak it reached (a server that
// held 2,000 connections keeps their memory after they are gone);
// malloc_trim(0) gives the free pages of every arena back to the system.
// A timer actor calls it when the open connections fell to half of the
// most it saw since the last trim (and that most was a wave worth it).

#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace dja {

class connection_limits;

/// Spawns the trimmer; it looks at `counts` every few seconds for as
/// long as the actor system runs.
caf::actor spawn_memory_trimmer(caf::actor_system& sys,
                                std::shared_ptr<connection_limits> counts);

} // namespace dja
