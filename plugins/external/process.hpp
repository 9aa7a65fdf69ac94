#pragma once

// One child program of the `external` plugin (plugins/external/): started
// with posix_spawn (safe in a threaded process), stdin/stdout as pipes
// for the protocol, each stderr line logged under the plugin's tag by a
// thread of its own. All I/O takes a deadline, so a hanging program costs
// a call its timeout and never a thread of CAF's scheduler (the calls run
// in detached actors, plugins/external/external.cpp). The jsonl protocol
// reads stdout on a thread too (a line per message, many calls in
// flight); the ejabberd and Prosody protocols read it with read_*().

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

namespace dja::plugins::external {

using clock = std::chrono::steady_clock;

/// What went wrong with an I/O call.
enum class io_status { ok, timeout, closed };

class process {
public:
  process() = default;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process();

  /// Receives each line the program writes on stderr (on a thread of
  /// its own).
  using line_sink = std::function<void(const std::string&)>;

  /// Receives each stdout line (without '\n'; `too_long` when it was
  /// cut at max_stdout_line) and, with `eof`, the end of stdout.
  using stdout_sink = std::function<void(std::string line, bool too_long,
                                         bool eof)>;

  /// The longest stdout line read whole (1 MiB).
  static constexpr size_t max_stdout_line = size_t{1} << 20;

  /// Starts `argv`; "" or what failed (e.g. "cannot execute ./x: No such
  /// file or directory"). With `on_stdout`, stdout is read by a thread of
  /// its own (then read_*() must not be used).
  std::string start(const std::vector<std::string>& argv,
                    line_sink on_stderr, stdout_sink on_stdout = {});

  /// Closes stdin, sends SIGTERM, then SIGKILL after 200 ms, reaps it.
  void stop();

  bool running() const {
    return pid_ > 0;
  }

  /// Has it exited? Reaps it and sets `status` ("exit status 1",
  /// "killed by signal 9").
  bool exited(std::string& status);

  io_status write_all(const std::string& bytes, clock::time_point deadline);

  /// Reads exactly `n` bytes.
  io_status read_exact(size_t n, std::string& out,
                       clock::time_point deadline);

  /// Reads up to (and without) the next '\n'.
  io_status read_line(std::string& out, clock::time_point deadline);

  /// Is there anything (bytes or end of file) on stdout now?
  bool readable_now();

  int pid() const {
    return pid_;
  }

private:
  io_status fill(clock::time_point deadline);

  /// Reads `fd` line by line into `sink` (a line is cut at `max` bytes,
  /// then `too_long`) until its end or a byte on `wake`; then decrements
  /// readers_ (counted by start()).
  void read_lines(int fd, int wake, size_t max,
                  const std::function<void(std::string&, bool)>& sink);

  int pid_ = -1;
  int in_ = -1;  ///< its stdin, our write end
  int out_ = -1; ///< its stdout, our read end
  std::string buf_;
  std::thread stderr_reader_;
  std::thread stdout_reader_;
  int wake_[2] = {-1, -1}; ///< stop() wakes the reader threads with it
  std::atomic<int> readers_{0}; ///< reader threads still reading
};

/// Keeps the first 20 stderr lines of a program being checked at start,
/// to show them with the reason it was refused.
class stderr_capture {
public:
  stderr_capture();
  /// The sink to give process::start().
  process::line_sink sink() const;
  /// "\n  stderr: LINE" for each line kept.
  std::string lines() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Starts `argv`, waits `grace` and tells whether it is still running:
/// "" or why not, with its stderr (the start check of the config).
std::string probe(const std::vector<std::string>& argv,
                  std::chrono::milliseconds grace);

} // namespace dja::plugins::external
