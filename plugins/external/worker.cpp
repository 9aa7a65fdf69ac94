// The process of one `external` instance (plugins/external/worker.hpp).
// ejabberd extauth: request = 2-byte big-endian length (bytes) + command,
// reply = length 2 + 0x0000 / 0x0001; anything else is junk. Prosody
// mod_auth_external: request = command + "\n", reply = "1" or "0" line.
// Junk, an exit or a write that cannot complete leaves the stream out of
// step: the process is stopped and restarted after a back-off (250 ms,
// doubling up to 30 s, reset by a good reply); calls meanwhile fail.

#include "plugins/external/worker.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace dja::plugins::external {

namespace {

using self_ptr = caf::stateful_actor<worker_state>*;

caf::error fail(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// Stops the process after `why`; the next start waits for the back-off.
caf::error crashed(self_ptr self, const std::string& why) {
  auto& st = self->state;
  spdlog::warn("{}: program {}; restarting it", st.cfg.tag, why);
  st.proc.stop();
  st.backoff = st.backoff.count() == 0
                 ? std::chrono::milliseconds{250}
                 : std::min(st.backoff * 2, std::chrono::milliseconds{30000});
  st.next_start = clock::now() + st.backoff;
  return fail("external program " + why);
}

/// Starts the process when it is not running and the back-off is over.
caf::error ensure_running(self_ptr self) {
  auto& st = self->state;
  std::string status;
  if (st.proc.running() && st.proc.exited(status))
    return crashed(self, "exited (" + status + ")");
  if (st.proc.running())
    return {};
  if (clock::now() < st.next_start)
    return fail("external program restarting");
  auto tag = st.cfg.tag;
  auto err = st.proc.start(st.cfg.argv, [tag](const std::string& line) {
    spdlog::info("{}: stderr: {}", tag, line);
  });
  if (!err.empty())
    return crashed(self, err);
  st.stale = 0;
  st.timeouts = 0;
  spdlog::info("{}: started {} (pid {})", st.cfg.tag, st.cfg.argv[0],
               st.proc.pid());
  return {};
}

/// The framed request, or "" when the command cannot be framed.
std::string frame(const worker_config& cfg, const std::string& cmd) {
  if (cfg.line_based)
    return cmd.find('\n') == std::string::npos ? cmd + "\n" : "";
  if (cmd.size() > 0xffff)
    return "";
  std::string out;
  out += static_cast<char>(cmd.size() >> 8);
  out += static_cast<char>(cmd.size() & 0xff);
  return out + cmd;
}

/// One reply: 1, 0, or -1 for junk (in `junk`).
io_status read_reply(worker_state& st, clock::time_point deadline, int& value,
                     std::string& junk) {
  std::string bytes;
  value = -1;
  if (st.cfg.line_based) {
    auto s = st.proc.read_line(bytes, deadline);
    if (s != io_status::ok)
      return s;
    if (!bytes.empty() && bytes.back() == '\r')
      bytes.pop_back();
    if (bytes == "1" || bytes == "0")
      value = bytes == "1";
    else
      junk = bytes.substr(0, 80);
    return io_status::ok;
  }
  auto s = st.proc.read_exact(2, bytes, deadline);
  if (s != io_status::ok)
    return s;
  if (bytes != std::string{"\0\2", 2}) {
    junk = "length " + std::to_string(static_cast<uint8_t>(bytes[0]) * 256
                                      + static_cast<uint8_t>(bytes[1]));
    return io_status::ok;
  }
  if ((s = st.proc.read_exact(2, bytes, deadline)) != io_status::ok)
    return s;
  if (bytes[0] == 0 && (bytes[1] == 0 || bytes[1] == 1))
    value = bytes[1];
  else
    junk = "reply value not 0 or 1";
  return io_status::ok;
}

caf::expected<bool> call(self_ptr self, const std::string& cmd) {
  auto& st = self->state;
  if (auto err = ensure_running(self))
    return err;
  if (st.stale == 0 && st.proc.readable_now())
    return crashed(self, "wrote to stdout unasked");
  auto bytes = frame(st.cfg, cmd);
  if (bytes.empty())
    return fail("request cannot be framed (too long or a newline)");
  auto deadline = clock::now() + st.cfg.timeout;
  auto s = st.proc.write_all(bytes, deadline);
  if (s != io_status::ok)
    return crashed(self, s == io_status::closed ? "closed its stdin"
                                                : "stopped reading stdin");
  for (;;) {
    int value = -1;
    std::string junk;
    s = read_reply(st, deadline, value, junk);
    if (s == io_status::closed) {
      std::string status = "closed its stdout";
      st.proc.exited(status);
      return crashed(self, "exited mid-request (" + status + ")");
    }
    if (s == io_status::timeout) {
      ++st.stale;
      spdlog::warn("{}: no reply within {} ms", st.cfg.tag,
                   st.cfg.timeout.count());
      if (++st.timeouts >= st.cfg.max_timeouts)
        return crashed(self, std::to_string(st.timeouts)
                               + " timeouts in a row");
      return fail("external program timed out");
    }
    if (value < 0)
      return crashed(self, "wrote junk on stdout (" + junk + ")");
    if (st.stale > 0) {
      --st.stale; // the late reply of a call that timed out
      continue;
    }
    st.timeouts = 0;
    st.backoff = std::chrono::milliseconds{0};
    return value == 1;
  }
}

} // namespace

caf::behavior worker(caf::stateful_actor<worker_state>* self,
                     worker_config cfg) {
  self->state.cfg = std::move(cfg);
  if (auto err = ensure_running(self))
    spdlog::error("{}: {}", self->state.cfg.tag, to_string(err));
  return {
    [self](const std::string& cmd) -> caf::result<bool> {
      auto res = call(self, cmd);
      if (!res)
        return std::move(res.error());
      return *res;
    },
  };
}

} // namespace dja::plugins::external
