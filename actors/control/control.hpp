#pragma once

// The control channel of a running server: a Unix domain socket
// (`server.control_socket`, default DATA_DIR/control.sock) on which
// `djabberd-actors ctl` (client.hpp) sends one request line and reads the
// answer (protocol.hpp). Served by a thread of its own, never an actor
// thread: a slow or silent client holds that thread only, for at most
// protocol::request_timeout. Only the server's own user (and root) may
// talk to it: the socket file has mode 0600 and each peer's credentials
// (SO_PEERCRED) are checked.

#include <functional>
#include <memory>
#include <string>

#include "control/protocol.hpp"

namespace dja::control {

class control_socket {
public:
  /// Answers one request; runs on the socket's thread (it may wait for
  /// actors, bounded, with a scoped_actor).
  using handler = std::function<response(const request&)>;

  /// Creates the socket at `path`, mode 0600. A socket file left by a
  /// server that is gone (nobody accepts on it) is replaced; a live one,
  /// or a file that is not a socket, is an error. nullptr and `error`
  /// set when it cannot be created.
  static std::unique_ptr<control_socket> open(const std::string& path,
                                              std::string& error);

  /// Starts answering requests with `h` (connections made before wait
  /// in the socket's backlog).
  void serve(handler h);

  /// Stops the thread and removes the socket file (if it is still ours).
  ~control_socket();

  control_socket(const control_socket&) = delete;
  control_socket& operator=(const control_socket&) = delete;

private:
  control_socket() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The longest path of a Unix socket address (sun_path, without its NUL).
constexpr size_t max_socket_path = 107;

} // namespace dja::control
