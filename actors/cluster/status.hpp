#pragma once

// `djabberd-actors cluster status --config FILE`: asks the running node
// of that configuration (over its cluster listen address, with the
// node's own certificate) how it sees the cluster, and prints each node's
// state, session count and counters.

namespace dja::cluster {

/// The usage lines, for the server's --help.
extern const char* const usage;

/// Runs `cluster ...`; argv[0] is the subcommand. Returns the exit status
/// (0: printed; 1: bad usage, bad config or the node did not answer).
int run_cluster_command(int argc, char** argv);

} // namespace dja::cluster
