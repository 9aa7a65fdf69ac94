// One process of the jsonl protocol (jsonl_worker.hpp). Each message is
// one line of JSON: JSON-RPC 2.0 requests (with an id: a reply is owed)
// and notifications (without one) from us; replies from the program,
// matched by id, so they may come in any order. Junk (a line that is not
// a JSON-RPC reply to a call in flight or late), an exit, a write that
// cannot complete, `max_timeouts` timeouts in a row or no answer to
// `initialize`: the process is stopped, every call it owes fails (the
// hook's error path) and it is restarted after a back-off (250 ms,
// doubling up to 30 s, reset by a good reply); calls meanwhile fail at
// once, and the dispatcher sends them to another instance if it can.

#include "plugins/external/jsonl_worker.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace dja::plugins::external::jsonl {

namespace {

using self_ptr = caf::stateful_actor<worker_state>*;

caf::error fail(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

std::string message(uint64_t id, const std::string& method,
                    const json& params, bool notify = false) {
  json m = {{"jsonrpc", "2.0"}, {"method", method}, {"params", params}};
  if (!notify)
    m["id"] = id;
  // A string that is not UTF-8 (never from a prepared JID or a SASL
  // password, which are) is sent with U+FFFD rather than not at all.
  return m.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void tell_parent(self_ptr self) {
  auto& st = self->state;
  self->send(st.cfg.parent, state_atom::value, st.cfg.index, st.status);
}

/// Stops the process after `why`; every call it owes fails; the next
/// start waits for the back-off.
void crash(self_ptr self, const std::string& why) {
  auto& st = self->state;
  spdlog::warn("{}: program {}; restarting it", st.cfg.tag, why);
  st.proc.stop();
  ++st.gen;
  st.status = worker_status::down;
  auto err = fail("external program " + why);
  auto calls = std::move(st.calls);
  st.calls.clear();
  st.waiting.clear();
  st.in_flight = 0;
  st.timeouts = 0;
  for (auto& [id, c] : calls)
    c.rp.deliver(err);
  st.backoff = st.backoff.count() == 0
                 ? std::chrono::milliseconds{250}
                 : std::min(st.backoff * 2, std::chrono::milliseconds{30000});
  self->delayed_send(self, st.backoff, start_atom::value, st.gen);
  tell_parent(self);
}

bool write(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto s = st.proc.write_all(bytes, clock::now() + st.cfg.timeout);
  if (s == io_status::ok)
    return true;
  crash(self, s == io_status::closed ? "closed its stdin"
                                     : "stopped reading its stdin");
  return false;
}

void start(self_ptr self) {
  auto& st = self->state;
  auto gen = ++st.gen;
  auto tag = st.cfg.tag;
  auto me = caf::actor_cast<caf::actor_addr>(self); // weak: no cycle
  auto err = st.proc.start(
    st.cfg.argv,
    [tag](const std::string& line) {
      spdlog::info("{}: stderr: {}", tag, line);
    },
    [me, gen](std::string line, bool too_long, bool eof) {
      if (auto hdl = caf::actor_cast<caf::actor>(me))
        caf::anon_send(hdl, line_atom::value, gen, std::move(line),
                       too_long, eof);
    });
  if (!err.empty()) {
    crash(self, err);
    return;
  }
  spdlog::info("{}: started {} (pid {})", tag, st.cfg.argv[0],
               st.proc.pid());
  st.status = worker_status::starting;
  tell_parent(self);
  if (write(self, message(0, "initialize", st.cfg.init_params)))
    self->delayed_send(self, st.cfg.start_timeout, init_tmo_atom::value,
                       gen);
}

/// Sends waiting calls while there is room.
void pump(self_ptr self) {
  auto& st = self->state;
  while (st.status == worker_status::ready
         && st.in_flight < st.cfg.concurrency && !st.waiting.empty()) {
    auto id = st.waiting.front();
    st.waiting.pop_front();
    auto i = st.calls.find(id);
    if (i == st.calls.end())
      continue; // timed out while waiting
    i->second.sent = true;
    ++st.in_flight;
    if (!write(self, message(id, i->second.method, i->second.params)))
      return;
  }
}

/// The program's answer to `initialize`.
void on_initialized(self_ptr self, const json& msg) {
  auto& st = self->state;
  if (msg.contains("error"))
    return crash(self, "refused initialize: " + msg["error"].dump());
  auto result = msg.value("result", json());
  if (auto err = check_init_result(result); !err.empty())
    return crash(self, "answered initialize with junk (" + err + ")");
  st.status = worker_status::ready;
  spdlog::debug("{}: ready: {}", st.cfg.tag, result.dump());
  tell_parent(self);
  pump(self);
}

/// One line of stdout.
void on_line(self_ptr self, const std::string& line, bool too_long) {
  auto& st = self->state;
  if (too_long)
    return crash(self, "wrote a line over 1 MiB on stdout");
  auto msg = json::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()
      || msg.value("jsonrpc", json()) != "2.0"
      || !msg.value("id", json()).is_number_unsigned()
      || (msg.contains("result") == msg.contains("error")))
    return crash(self, "wrote junk on stdout (" + line.substr(0, 80) + ")");
  auto id = msg["id"].get<uint64_t>();
  if (id == 0 && st.status == worker_status::starting)
    return on_initialized(self, msg);
  auto i = st.calls.find(id);
  if (i == st.calls.end() || !i->second.sent) {
    if (id < st.next_id && id != 0) {
      spdlog::debug("{}: late reply to call {} dropped", st.cfg.tag, id);
      return;
    }
    return crash(self, "replied to no call (id " + std::to_string(id) + ")");
  }
  auto c = std::move(i->second);
  st.calls.erase(i);
  --st.in_flight;
  st.timeouts = 0;
  st.backoff = std::chrono::milliseconds{0};
  if (msg.contains("error")) {
    spdlog::warn("{}: {}: error {}", st.cfg.tag, c.method,
                 msg["error"].dump());
    c.rp.deliver(fail("external program: " + c.method + " failed"));
  } else {
    c.rp.deliver(msg["result"]);
  }
  pump(self);
}

void on_timeout(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto i = st.calls.find(id);
  if (i == st.calls.end())
    return;
  auto c = std::move(i->second);
  st.calls.erase(i);
  if (!c.sent) {
    c.rp.deliver(fail("external program busy: call timed out waiting"));
    return;
  }
  --st.in_flight;
  spdlog::warn("{}: {}: no reply within {} ms", st.cfg.tag, c.method,
               st.cfg.timeout.count());
  c.rp.deliver(fail("external program timed out"));
  if (++st.timeouts >= st.cfg.max_timeouts)
    return crash(self, std::to_string(st.timeouts) + " timeouts in a row");
  pump(self);
}

} // namespace

caf::behavior worker(caf::stateful_actor<worker_state>* self,
                     worker_config cfg) {
  self->state.cfg = std::move(cfg);
  start(self);
  return {
    [self](call& c) -> caf::result<json> {
      auto& st = self->state;
      if (st.status == worker_status::down)
        return fail("external program restarting");
      if (st.calls.size() >= st.cfg.queue_limit)
        return fail("external program busy: too many calls waiting");
      auto id = st.next_id++;
      auto rp = self->make_response_promise();
      st.calls.emplace(id, worker_state::owed{std::move(c.method),
                                              std::move(c.params), rp});
      st.waiting.push_back(id);
      self->delayed_send(self, st.cfg.timeout, timeout_atom::value, id);
      pump(self);
      return caf::delegated<json>{};
    },
    [self](notify_atom, call& c) {
      if (self->state.status == worker_status::ready)
        write(self, message(0, c.method, c.params, true));
    },
    [self](line_atom, uint64_t gen, std::string& line, bool too_long,
           bool eof) {
      auto& st = self->state;
      if (gen != st.gen || st.status == worker_status::down)
        return; // a line of a process already stopped
      if (!eof)
        return on_line(self, line, too_long);
      std::string status = "closed its stdout";
      for (int i = 0; i < 20 && !st.proc.exited(status); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      crash(self, "exited (" + status + ")");
    },
    [self](timeout_atom, uint64_t id) { on_timeout(self, id); },
    [self](init_tmo_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen == st.gen && st.status == worker_status::starting)
        crash(self, "did not answer initialize within "
                      + std::to_string(st.cfg.start_timeout.count())
                      + " ms");
    },
    [self](start_atom, uint64_t gen) {
      if (gen == self->state.gen
          && self->state.status == worker_status::down)
        start(self);
    },
  };
}

std::string check_init_result(const json& result) {
  if (!result.is_object() || !result.contains("hooks"))
    return "expected a result {\"hooks\": [...], ...}";
  std::string err;
  hooks_of(result["hooks"], err);
  for (auto key : {"iqs", "features", "identities", "stream_features"})
    if (result.contains(key)) {
      std::vector<std::string> xs;
      if (!decode(result[key], xs).empty())
        return std::string{"\""} + key + "\": an array of strings";
    }
  return err;
}

json handshake(const std::vector<std::string>& argv, const json& params,
               std::chrono::milliseconds timeout, std::string& err) {
  stderr_capture captured;
  process p;
  if (err = p.start(argv, captured.sink()); !err.empty())
    return {};
  auto deadline = clock::now() + timeout;
  std::string line;
  auto s = p.write_all(message(0, "initialize", params), deadline);
  if (s == io_status::ok)
    s = p.read_line(line, deadline);
  json result;
  if (s == io_status::ok) {
    auto msg = json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()
        || msg.value("jsonrpc", json()) != "2.0"
        || msg.value("id", json()) != 0)
      err = "a JSON-RPC reply to initialize (id 0) on stdout, got: "
            + line.substr(0, 120);
    else if (msg.contains("error"))
      err = "a program that accepts initialize, got the error "
            + msg["error"].dump();
    else if (err = check_init_result(msg.value("result", json()));
             err.empty())
      result = msg["result"];
  } else if (s == io_status::timeout) {
    err = "an answer to initialize within "
          + std::to_string(timeout.count()) + " ms";
  } else {
    // It closed its stdout: it is exiting, even on a loaded machine.
    std::string status = "closed its stdout";
    for (int i = 0; i < 200 && !p.exited(status); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    err = "a program that keeps running: " + argv[0]
          + " exited at start (" + status + ")";
  }
  p.stop();
  if (!err.empty())
    err += captured.lines();
  return result;
}

} // namespace dja::plugins::external::jsonl
