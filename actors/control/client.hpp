#pragma once

// `djabberd-actors ctl [--config FILE] [--socket PATH] COMMAND [ARG ...]`:
// sends one command to the running server of that configuration over its
// control socket (control.hpp) and prints the answer: standard output and
// exit status 0 when the server says ok, standard error and 1 otherwise
// (also when no server runs: "server not running: cannot connect to
// PATH: ..."). The socket is found from the configuration's [server]
// table alone (control_socket, else DATA_DIR/control.sock), so a file
// edited since the start, or with plugins that would take time to
// check, still leads to the running server.

namespace dja::control {

/// The usage lines, for the server's --help.
extern const char* const usage;

/// Runs `ctl ...` (argv[0] is the first word after `ctl`); returns the
/// exit status.
int run_ctl_command(int argc, char** argv);

} // namespace dja::control
