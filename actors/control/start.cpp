// The control channel in the server's start and stop (start.hpp).

#include "control/start.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

namespace dja::control {

std::unique_ptr<control_socket>
open_configured(const config::server_cfg& cfg, bool& ok) {
  ok = true;
  auto path = config::control_socket_path(cfg);
  if (path.empty()) {
    spdlog::info("control: no control socket (server.control_socket = \"\")");
    return nullptr;
  }
  auto where = cfg.control_socket_line > 0
                 ? cfg.file + ":" + std::to_string(cfg.control_socket_line)
                 : cfg.file + " (default " + path + ")";
  if (!cfg.control_socket && path.size() > max_socket_path) {
    spdlog::warn("{}: server.control_socket: the default path is longer "
                 "than a Unix socket address allows: no control socket "
                 "(set a shorter one)",
                 where);
    return nullptr;
  }
  std::string error;
  auto cs = control_socket::open(path, error);
  if (!cs) {
    spdlog::critical("{}: server.control_socket: {} (expected a path "
                     "where this user can create a Unix socket, or \"\" "
                     "for none)",
                     where, error);
    ok = false;
    return nullptr;
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  spdlog::info("control: listening on {} (djabberd-actors ctl)",
               ec ? path : abs.string());
  return cs;
}

void serve(control_socket& cs, server_view view) {
  cs.serve([view = std::move(view)](const request& req) {
    return run_command(req, view);
  });
}

} // namespace dja::control
