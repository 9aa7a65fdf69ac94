#pragma once

// The open s2s streams, for operators: the manager keeps
// DATA_DIR/s2s_status up to date (one line per authenticated stream,
// written by a detached actor, never on a scheduler worker), and
//
//   djabberd-actors s2s status [--config FILE]
//
// prints it.

#include <string>
#include <vector>

#include <caf/fwd.hpp>

namespace dja::s2s {

/// The usage line, for the server's --help.
extern const char* const status_usage;

/// A detached actor that (re)writes `path` atomically with each
/// std::vector<std::string> of lines it receives.
caf::actor spawn_status_writer(caf::actor_system& sys, std::string path);

/// The status file of a data directory.
std::string status_path(const std::string& data_dir);

/// Runs `s2s status ...` (argv[0] = "status"); returns the exit status.
int run_status_command(int argc, char** argv);

} // namespace dja::s2s
