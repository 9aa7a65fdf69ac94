#pragma once

// The control channel in the server's start and stop (server/server.cpp):
// the socket of the configuration is created before the listeners open
// (a client that sees the port open finds the socket too) and answers
// once the server runs; it is removed at the stop.

#include <memory>

#include "control/commands.hpp"
#include "control/control.hpp"
#include "server/config.hpp"

namespace dja::control {

/// Creates the control socket of `cfg`. nullptr with `ok` true when
/// there is none (`control_socket = ""`, or a default path too long for
/// a socket address: warned); nullptr with `ok` false when it cannot be
/// created (logged as FILE:LINE: server.control_socket: ...; the server
/// does not start).
std::unique_ptr<control_socket>
open_configured(const config::server_cfg& cfg, bool& ok);

/// Starts answering the commands of commands.hpp on `cs`.
void serve(control_socket& cs, server_view view);

} // namespace dja::control
