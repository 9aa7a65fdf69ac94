// The control socket of a running server (control.hpp).

#include "control/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

namespace dja::control {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

bool make_address(const std::string& path, sockaddr_un& sa) {
  if (path.empty() || path.size() > max_socket_path)
    return false;
  sa = sockaddr_un{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  return true;
}

/// Is a server accepting on the socket file `path`?
bool is_live(const sockaddr_un& sa) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa),
                        sizeof(sa))
              == 0;
  ::close(fd);
  return live;
}

/// Writes all of `text`, bounded in time by the socket's SO_SNDTIMEO.
void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::send(fd, text.data() + done, text.size() - done,
                    MSG_NOSIGNAL);
    if (n <= 0)
      return;
    done += static_cast<size_t>(n);
  }
}

/// Reads and drops what the client sent past its request (bounded), so
/// that closing does not reset the connection before it read the answer
/// (a Unix socket closed with unread data does).
void drain(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  for (size_t total = 0; total < 64 * 1024;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0)
      return;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      return;
    total += static_cast<size_t>(n);
  }
}

} // namespace

struct control_socket::impl {
  int fd = -1;
  std::string path;
  ino_t inode = 0; ///< of our socket file, so we remove only ours
  std::atomic<bool> stop{false};
  std::thread thread;
  handler handle;

  /// Reads one request line, bounded in size and time.
  std::optional<request> read_request(int c, std::string& error) {
    line_reader reader;
    auto deadline = std::chrono::steady_clock::now() + request_timeout;
    char buf[512];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      pollfd p{c, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
        error = "no request line within "
                + std::to_string(request_timeout.count()) + " s";
        return std::nullopt;
      }
      auto n = ::read(c, buf, sizeof(buf));
      if (n <= 0) {
        error = "the connection closed before a complete request line";
        return std::nullopt;
      }
      switch (reader.feed({buf, static_cast<size_t>(n)})) {
        case line_reader::status::more:
          continue;
        case line_reader::status::too_long:
          error = "request longer than " + std::to_string(max_request)
                  + " bytes";
          return std::nullopt;
        case line_reader::status::complete: {
          auto parsed = parse_request(reader.line());
          if (!parsed.req)
            error = parsed.error;
          return parsed.req;
        }
      }
    }
  }

  void serve(int c) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0
        || (cred.uid != ::geteuid() && cred.uid != 0)) {
      spdlog::warn("control: a connection of uid {} refused (only the "
                   "server's own user may use {})",
                   cred.uid, path);
      write_all(c, encode(response::error("not allowed: only the "
                                          "server's own user may use the "
                                          "control socket")));
      return;
    }
    timeval tv{static_cast<time_t>(request_timeout.count()), 0};
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    std::string error;
    auto req = read_request(c, error);
    if (!req) {
      spdlog::warn("control: bad request: {}", error);
      write_all(c, encode(response::error(error)));
      return;
    }
    spdlog::info("control: {}{}{}", req->command, req->args.empty() ? "" : " ",
                 req->args.empty() ? "" : req->args.front());
    write_all(c, encode(handle(*req)));
  }

  void run() {
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0)
        continue;
      int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      serve(c);
      drain(c);
      ::close(c);
    }
  }
};

std::unique_ptr<control_socket>
control_socket::open(const std::string& path, std::string& error) {
  sockaddr_un sa;
  if (!make_address(path, sa)) {
    error = path.empty() ? "an empty path"
                         : "a path of at most "
                             + std::to_string(max_socket_path)
                             + " bytes (a Unix socket address)";
    return nullptr;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = "cannot create " + path + ": a file that is not a socket is "
              "there (not removed)";
      return nullptr;
    }
    if (is_live(sa)) {
      error = "cannot create " + path + ": another server is running with "
              "this control socket";
      return nullptr;
    }
    spdlog::info("control: removing the stale socket {} (no server accepts "
                 "on it)", path);
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "cannot create a Unix socket: " + errno_text();
    return nullptr;
  }
  // Owner-only from its creation: no moment in which another user could
  // connect (the umask is process-wide, but nothing else creates files
  // at this point of the start).
  auto old_mask = ::umask(0177);
  auto bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  auto bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::chmod(path.c_str(), 0600) != 0
      || ::listen(fd, 8) != 0) {
    error = "cannot create " + path + ": "
            + std::strerror(bound != 0 ? bind_errno : errno);
    if (bound == 0)
      ::unlink(path.c_str());
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<control_socket> cs{new control_socket};
  cs->impl_ = std::make_unique<impl>();
  cs->impl_->fd = fd;
  cs->impl_->path = path;
  if (::lstat(path.c_str(), &st) == 0)
    cs->impl_->inode = st.st_ino;
  return cs;
}

void control_socket::serve(handler h) {
  impl_->handle = std::move(h);
  impl_->thread = std::thread{[p = impl_.get()] { p->run(); }};
}

control_socket::~control_socket() {
  impl_->stop = true;
  if (impl_->thread.joinable())
    impl_->thread.join();
  ::close(impl_->fd);
  struct stat st {};
  if (::lstat(impl_->path.c_str(), &st) == 0 && st.st_ino == impl_->inode)
    ::unlink(impl_->path.c_str());
}

} // namespace dja::control
