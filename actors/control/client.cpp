// `djabberd-actors ctl` (client.hpp): the client side of the control
// channel's line protocol (protocol.hpp).

#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "control/commands.hpp"
#include "control/control.hpp"
#include "control/protocol.hpp"
#include "server/config.hpp"

namespace dja::control {

const char* const usage =
  R"(  ctl [--config FILE] [--socket PATH] COMMAND [ARG ...]
                    send COMMAND to the running server over its control
                    socket (server.control_socket, default
                    DATA_DIR/control.sock); exit 1 on failure. Commands:
)";

namespace {

/// How long the client waits for the whole answer.
constexpr auto answer_timeout = std::chrono::seconds(30);

int fail(const std::string& what) {
  std::cerr << "djabberd-actors ctl: " << what << "\n";
  return 1;
}

/// The control socket of the configuration file `path`, from its
/// [server] table only; nullopt and `error` set when the file cannot
/// be read or the keys have the wrong type.
std::optional<std::string> socket_of(const std::string& path,
                                     std::string& error) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    error = path + ": " + std::string{e.description()};
    return std::nullopt;
  }
#else
  auto res = toml::parse_file(path);
  if (!res) {
    error = path + ": " + std::string{res.error().description()};
    return std::nullopt;
  }
  root = std::move(res).table();
#endif
  config::server_cfg cfg;
  cfg.file = path;
  auto dir = root.at_path("server.data_dir");
  auto sock = root.at_path("server.control_socket");
  if ((dir && !dir.is_string()) || (sock && !sock.is_string())) {
    error = path + ": server.data_dir and server.control_socket must be "
                   "strings";
    return std::nullopt;
  }
  if (dir)
    cfg.data_dir = **dir.as_string();
  if (sock)
    cfg.control_socket = **sock.as_string();
  return config::control_socket_path(cfg);
}

/// Sends `request` to the socket at `path`; the answer, or nullopt and
/// `error`.
std::optional<response> exchange(const std::string& path,
                                 const std::string& request,
                                 std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() > max_socket_path) {
    error = "the control socket path " + path + " is too long";
    return std::nullopt;
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    auto e = errno;
    if (fd >= 0)
      ::close(fd);
    error = (e == ENOENT || e == ECONNREFUSED ? "server not running: " : "")
            + std::string{"cannot connect to "} + path + ": "
            + std::strerror(e);
    return std::nullopt;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    auto n = ::send(fd, request.data() + sent, request.size() - sent,
                    MSG_NOSIGNAL);
    if (n <= 0) {
      error = "cannot send to " + path + ": " + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string in;
  auto deadline = std::chrono::steady_clock::now() + answer_timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      error = "no answer from the server within "
              + std::to_string(answer_timeout.count()) + " s";
      ::close(fd);
      return std::nullopt;
    }
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      error = "cannot read the answer: " + std::string{std::strerror(errno)};
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0)
      break;
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > max_response) {
      error = "the answer is longer than " + std::to_string(max_response)
              + " bytes";
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  auto r = decode(in);
  if (!r)
    error = "not an answer of the control protocol from " + path;
  return r;
}

} // namespace

int run_ctl_command(int argc, char** argv) {
  std::string config_path = "config/server.toml";
  std::optional<std::string> socket_path;
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" || arg == "--socket") {
      if (i + 1 >= argc)
        return fail(arg + " needs a value");
      (arg == "--config" ? config_path : socket_path.emplace()) = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else if (arg.rfind("--socket=", 0) == 0) {
      socket_path = arg.substr(9);
    } else if (words.empty() && (arg == "--help" || arg == "-h")) {
      std::cout << "usage: djabberd-actors\n" << usage << help_text();
      return 0;
    } else {
      // --all is a command's argument; a quoted text ("kick JID 'a
      // reason'", broadcast) becomes words, its spaces single ones.
      for (size_t b = 0, e; b < arg.size(); b = e + 1) {
        e = std::min(arg.find(' ', b), arg.size());
        if (e > b)
          words.push_back(arg.substr(b, e - b));
      }
      if (arg.empty())
        words.push_back(arg); // refused below, as before
    }
  }
  if (words.empty()) {
    std::cerr << "djabberd-actors ctl: missing COMMAND\n\nusage: "
                 "djabberd-actors\n"
              << usage << help_text();
    return 1;
  }
  auto request = format_request(words);
  if (request.empty())
    return fail("cannot send these words: at most "
                + std::to_string(max_words) + " words, "
                + std::to_string(max_request)
                + " bytes, no empty word, no control character");
  std::string error;
  if (!socket_path) {
    socket_path = socket_of(config_path, error);
    if (!socket_path)
      return fail(error);
    if (socket_path->empty())
      return fail(config_path + " has no control socket "
                  "(server.control_socket = \"\")");
  }
  auto r = exchange(*socket_path, request, error);
  if (!r)
    return fail(error);
  (r->ok ? std::cout : std::cerr)
    << (r->ok ? "" : "djabberd-actors ctl: ") << r->text << std::flush;
  return r->ok ? 0 : 1;
}

} // namespace dja::control
