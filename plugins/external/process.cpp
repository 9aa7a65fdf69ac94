// A child program of the `external` plugin: posix_spawn with three pipes,
// I/O with deadlines (poll), stderr read line by line on a thread.

#include "plugins/external/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dja::plugins::external {

namespace {

int ms_left(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

} // namespace

void process::read_lines(int fd, int wake, size_t max,
                         const std::function<void(std::string&, bool)>& sink) {
  std::string line;
  bool too_long = false;
  char chunk[4096];
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
    if (::poll(p, wake >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents != 0)
      break; // stop(): the program is gone, a grandchild holds the pipe
    auto n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; ++i) {
      if (chunk[i] == '\n') {
        sink(line, too_long);
        line.clear();
        too_long = false;
      } else if (line.size() < max) {
        line += chunk[i];
      } else {
        too_long = true;
      }
    }
  }
  if (!line.empty())
    sink(line, too_long);
  --readers_;
}

process::~process() {
  stop();
}

std::string process::start(const std::vector<std::string>& argv,
                           line_sink on_stderr, stdout_sink on_stdout) {
  stop();
  if (argv.empty())
    return "empty command";
  // A write to a program that has exited must be an EPIPE, not a SIGPIPE
  // that kills us: the server ignores SIGPIPE (main.cpp), but the config
  // check starts programs before that, and so do the tests.
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void) sigpipe_ignored;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    return std::strerror(errno);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return std::strerror(errno);
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return std::strerror(errno);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  auto rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]), ::close(out[1]), ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]), ::close(out[0]), ::close(err[0]);
    return "cannot execute " + argv[0] + ": " + std::strerror(rc);
  }
  pid_ = pid;
  in_ = in[1];
  out_ = out[0];
  ::fcntl(in_, F_SETFL, ::fcntl(in_, F_GETFL) | O_NONBLOCK);
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
  buf_.clear();
  if (::pipe2(wake_, O_CLOEXEC) != 0)
    wake_[0] = wake_[1] = -1;
  // Counted before the threads run, so that stop() never wakes a reader
  // that has not read what the program wrote yet.
  readers_ += on_stdout ? 2 : 1;
  stderr_reader_ = std::thread{[this, fd = err[0], wake = wake_[0],
                                sink = std::move(on_stderr)] {
    read_lines(fd, wake, 4096, // a bound on one logged line
               [&](std::string& line, bool) { sink(line); });
    ::close(fd);
  }};
  if (on_stdout)
    stdout_reader_ = std::thread{[this, fd = out_, wake = wake_[0],
                                  sink = std::move(on_stdout)] {
      read_lines(fd, wake, max_stdout_line,
                 [&](std::string& line, bool too_long) {
                   sink(std::move(line), too_long, false);
                 });
      sink({}, false, true);
    }};
  return {};
}

void process::stop() {
  close_fd(in_); // a well-behaved program exits at the end of its stdin
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = clock::now() + std::chrono::milliseconds{200};
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    pid_ = -1;
  }
  // The readers end at the end of the pipes, once what the program wrote
  // last is read; a grandchild holding them open is not waited for.
  auto deadline = clock::now() + std::chrono::milliseconds{500};
  while (readers_ > 0 && clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  if (wake_[1] >= 0)
    (void) !::write(wake_[1], "x", 1);
  if (stderr_reader_.joinable())
    stderr_reader_.join();
  if (stdout_reader_.joinable())
    stdout_reader_.join();
  close_fd(wake_[0]);
  close_fd(wake_[1]);
  close_fd(out_);
  buf_.clear();
}

bool process::exited(std::string& status) {
  if (pid_ <= 0) {
    status = "not running";
    return true;
  }
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) != pid_)
    return false;
  status = describe_status(st);
  pid_ = -1;
  stop(); // closes the pipes, joins the stderr thread
  return true;
}

io_status process::write_all(const std::string& bytes,
                             clock::time_point deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(in_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN)
      return io_status::closed; // EPIPE: SIGPIPE is ignored (start())
    pollfd p{in_, POLLOUT, 0};
    auto rc = ::poll(&p, 1, ms_left(deadline));
    if (rc == 0)
      return io_status::timeout;
    if (rc > 0 && (p.revents & (POLLERR | POLLHUP)))
      return io_status::closed;
  }
  return io_status::ok;
}

io_status process::fill(clock::time_point deadline) {
  for (;;) {
    char chunk[4096];
    auto n = ::read(out_, chunk, sizeof(chunk));
    if (n > 0) {
      buf_.append(chunk, static_cast<size_t>(n));
      return io_status::ok;
    }
    if (n == 0)
      return io_status::closed;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return io_status::closed;
    pollfd p{out_, POLLIN, 0};
    auto rc = ::poll(&p, 1, ms_left(deadline));
    if (rc == 0)
      return io_status::timeout;
  }
}

io_status process::read_exact(size_t n, std::string& out,
                              clock::time_point deadline) {
  while (buf_.size() < n)
    if (auto st = fill(deadline); st != io_status::ok)
      return st;
  out = buf_.substr(0, n);
  buf_.erase(0, n);
  return io_status::ok;
}

io_status process::read_line(std::string& out, clock::time_point deadline) {
  for (;;) {
    if (auto nl = buf_.find('\n'); nl != std::string::npos) {
      out = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return io_status::ok;
    }
    if (auto st = fill(deadline); st != io_status::ok)
      return st;
  }
}

bool process::readable_now() {
  if (!buf_.empty())
    return true;
  pollfd p{out_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

struct stderr_capture::impl {
  std::mutex mx;
  std::vector<std::string> lines;
};

stderr_capture::stderr_capture() : impl_(std::make_shared<impl>()) {
  // nop
}

process::line_sink stderr_capture::sink() const {
  return [p = impl_](const std::string& line) {
    std::lock_guard<std::mutex> guard{p->mx};
    if (p->lines.size() < 20)
      p->lines.push_back(line);
  };
}

std::string stderr_capture::lines() const {
  std::lock_guard<std::mutex> guard{impl_->mx};
  std::string res;
  for (auto& l : impl_->lines)
    res += "\n  stderr: " + l;
  return res;
}

std::string probe(const std::vector<std::string>& argv,
                  std::chrono::milliseconds grace) {
  stderr_capture captured;
  process p;
  if (auto err = p.start(argv, captured.sink()); !err.empty())
    return err;
  auto deadline = clock::now() + grace;
  std::string status;
  bool died = false;
  while (clock::now() < deadline && !(died = p.exited(status)))
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  p.stop();
  if (!died)
    return {};
  return argv[0] + " exited at start (" + status + ")" + captured.lines();
}

} // namespace dja::plugins::external
