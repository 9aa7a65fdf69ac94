#pragma once

// Account administration from the command line, in the server binary (as
// prosodyctl does):
//
//   djabberd-actors user add    [--config FILE] alice@localhost
//   djabberd-actors user passwd [--config FILE] alice@localhost
//   djabberd-actors user del    [--config FILE] alice@localhost
//   djabberd-actors user list   [--config FILE] localhost
//
// Loads and validates the configuration, spawns the plugins of that one
// vhost (no listeners) and asks its auth.register / auth.set_password /
// auth.remove_user / auth.list_users chain, exactly as the running server
// would (a running server and this command may share an SQLite file).
// The password is read from standard input: prompted twice without echo
// on a terminal, one line otherwise. It is never printed or logged.
// Exit status: 0 on success, 1 otherwise.

namespace dja::admin {

/// The usage lines, for the server's --help.
extern const char* const usage;

/// Runs `user ...`; argv[0] is the subcommand ("add", ...). Returns the
/// process exit status.
int run_user_command(int argc, char** argv);

} // namespace dja::admin
