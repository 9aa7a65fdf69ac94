// external: hooks served by a program over a pipe, in one of three
// protocols (docs/plugins.md, "External plugins"):
//  - `protocol = "jsonl"` (the default): newline-delimited JSON-RPC 2.0,
//    any hook of the catalogue, many calls in flight (jsonl.hpp);
//  - `protocol = "ejabberd"`: ejabberd's extauth (each message is a 2-byte
//    big-endian length counted in bytes, then `auth:U:S:P`, `isuser:U:S`,
//    `setpass:U:S:P`, `tryregister:U:S:P`, `removeuser:U:S`; the reply is
//    the length 2 and 0x0000 or 0x0001);
//  - `protocol = "prosody"`: Prosody's mod_auth_external (the same
//    commands, one per line, the reply `1` or `0` on a line).
// An operator's existing extauth script works unchanged.
//
// For the two extauth protocols, the hook actor below hands each call to
// one of `instances` detached worker actors (round-robin), each owning one
// process, so a slow or hanging program never holds a thread of CAF's
// scheduler. A call that times out, meets junk on stdout or a program
// that dies fails with an error: the core's error path (SASL
// <temporary-auth-failure/>), never an accept and never a wrong password.
// Failure handling is in worker.cpp (jsonl_worker.cpp for jsonl).

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/scope.hpp"
#include "plugins/external/jsonl.hpp"
#include "plugins/external/process.hpp"
#include "plugins/external/worker.hpp"

namespace dja::plugins {

namespace {

using hooks::account_result;
using hooks::answer;

struct dispatcher_state {
  plugins::scope scope;
  std::vector<caf::actor> workers;
  size_t next = 0;

  const caf::actor& pick() {
    return workers[next++ % workers.size()];
  }
};

using dispatcher = caf::stateful_actor<dispatcher_state>;

/// Sends `cmd` to a worker and answers the hook with `to_answer(reply)`.
template <class Answer, class F>
caf::result<Answer> call(dispatcher* self, const char* op, std::string cmd,
                         F to_answer) {
  auto rp = self->make_response_promise<Answer>();
  self->request(self->state.pick(), caf::infinite, std::move(cmd))
    .then(
      [rp, to_answer](bool ok) mutable { rp.deliver(to_answer(ok)); },
      [rp, self, op](caf::error& err) mutable {
        rp.deliver(self->state.scope.failed(op, err));
      });
  return rp;
}

/// An account write: 1 = done, 0 = `otherwise`.
caf::result<answer<account_result>>
account(dispatcher* self, const char* op, const jid& user, std::string cmd,
        account_result otherwise) {
  using res = answer<account_result>;
  if (!self->state.scope.ours(user))
    return res::decline();
  return call<res>(self, op, std::move(cmd), [otherwise](bool ok) {
    return res::handled(ok ? account_result::done : otherwise);
  });
}

caf::behavior serve(dispatcher* self, plugins::scope scope,
                    external::worker_config cfg, int64_t instances) {
  self->state.scope = std::move(scope);
  for (int64_t i = 0; i < instances; ++i) {
    auto wc = cfg;
    wc.tag += "[" + std::to_string(i) + "]";
    self->state.workers.push_back(
      self->spawn<caf::detached + caf::linked>(external::worker, wc));
  }
  auto args = [self](const jid& user) {
    return user.local() + ":" + self->state.scope.domain;
  };
  return {
    [self, args](const hooks::auth_check_password& r)
      -> caf::result<answer<bool>> {
      if (!self->state.scope.ours(r.user))
        return answer<bool>::decline();
      return call<answer<bool>>(self, "check_password",
                                "auth:" + args(r.user) + ":" + r.password,
                                [](bool ok) {
                                  return answer<bool>::handled(ok);
                                });
    },
    [self, args](const hooks::auth_user_exists& r)
      -> caf::result<answer<bool>> {
      if (!self->state.scope.ours(r.user))
        return answer<bool>::decline();
      // 0: not known here, maybe another plugin knows the user.
      return call<answer<bool>>(self, "user_exists", "isuser:" + args(r.user),
                                [](bool ok) {
                                  return ok ? answer<bool>::handled(true)
                                            : answer<bool>::decline();
                                });
    },
    [self, args](const hooks::auth_register& r) {
      return account(self, "register", r.user,
                     "tryregister:" + args(r.user) + ":" + r.password,
                     account_result::conflict);
    },
    [self, args](const hooks::auth_set_password& r) {
      return account(self, "set_password", r.user,
                     "setpass:" + args(r.user) + ":" + r.password,
                     account_result::not_found);
    },
    [self, args](const hooks::auth_remove_user& r) {
      return account(self, "remove_user", r.user,
                     "removeuser:" + args(r.user),
                     account_result::not_found);
    },
  };
}

std::vector<std::string> strings_of(const toml::node& n) {
  std::vector<std::string> out;
  if (auto a = n.as_array())
    for (auto& x : *a)
      if (auto s = x.value<std::string>())
        out.push_back(*s);
  return out;
}

/// The protocol of a block ("jsonl" when not given).
std::string protocol_of(const toml::table& o) {
  return o["protocol"].value_or<std::string>("jsonl");
}

/// What the extauth protocols serve; the start check watches the program
/// for 300 ms.
manifest describe_extauth(const toml::table& o) {
  manifest m;
  m.hooks = {hooks::id<hooks::auth_check_password>,
             hooks::id<hooks::auth_user_exists>};
  if (o["writable"].value_or(false))
    for (auto id : {hooks::id<hooks::auth_register>,
                    hooks::id<hooks::auth_set_password>,
                    hooks::id<hooks::auth_remove_user>})
      m.hooks.emplace_back(id);
  if (auto argv = strings_of(*o.get("command")); !argv.empty())
    if (auto err = external::probe(argv, std::chrono::milliseconds{300});
        !err.empty())
      m.error = "a program that keeps running: " + err;
  return m;
}

std::string int_in(const toml::node& n, int64_t lo, int64_t hi) {
  auto v = n.value_or<int64_t>(lo - 1);
  return v >= lo && v <= hi ? ""
                            : "an integer " + std::to_string(lo) + ".."
                                + std::to_string(hi);
}

} // namespace

DJA_PLUGIN(external) {
  return {
    "external",
    "hooks served by a program over a pipe: JSON-RPC lines (jsonl, any "
    "hook), ejabberd extauth or Prosody mod_auth_external (auth only)",
    {{"command", option_type::string_list, true,
      "the program and its arguments, e.g. [\"/etc/xmpp/extauth.py\"]; "
      "it must keep running (checked at start)",
      [](const toml::node& n) -> std::string {
        return strings_of(n).empty()
                 ? "a non-empty array: the program and its arguments"
                 : "";
      }},
     {"protocol", option_type::string, false,
      "\"jsonl\" (default: JSON-RPC 2.0 lines, any hook), \"ejabberd\" "
      "(extauth: 2-byte length + command) or \"prosody\" "
      "(mod_auth_external: one command per line)",
      [](const toml::node& n) -> std::string {
        auto p = n.value_or<std::string>("");
        return p == "jsonl" || p == "ejabberd" || p == "prosody"
                 ? ""
                 : "\"jsonl\", \"ejabberd\" or \"prosody\"";
      }},
     {"instances", option_type::integer, false,
      "processes started, 1..64 (default 1); jsonl: the least loaded "
      "takes a call, else round-robin",
      [](const toml::node& n) { return int_in(n, 1, 64); }},
     {"concurrency", option_type::integer, false,
      "jsonl: calls in flight per process, 1..1024 (default 8); more "
      "wait in line",
      [](const toml::node& n) { return int_in(n, 1, 1024); }},
     {"call_timeout_ms", option_type::integer, false,
      "milliseconds one call may take (default 3000); then it fails "
      "(temporary-auth-failure)",
      [](const toml::node& n) { return int_in(n, 1, 600000); }},
     {"timeout", option_type::integer, false,
      "seconds one call may take, 1..600 (another way to say "
      "call_timeout_ms, which wins when both are set)",
      [](const toml::node& n) { return int_in(n, 1, 600); }},
     {"start_timeout_ms", option_type::integer, false,
      "jsonl: milliseconds the program has to answer initialize "
      "(default 5000)",
      [](const toml::node& n) { return int_in(n, 1, 600000); }},
     {"max_timeouts", option_type::integer, false,
      "timeouts in a row after which the process is killed and restarted "
      "(default 3)",
      [](const toml::node& n) { return int_in(n, 1, 1000); }},
     {"writable", option_type::boolean, false,
      "ejabberd/prosody: also serve auth.register, auth.set_password and "
      "auth.remove_user (tryregister, setpass, removeuser; default false)"},
     {"settings", option_type::string_map, false,
      "jsonl: the program's own settings, e.g. { users = \"users.json\" } "
      "(sent in initialize with the other options)"}},
    [](const toml::table& o) {
      // The config check and the start both describe a block: the
      // program is started (and asked, for jsonl) once.
      static std::mutex mx;
      static std::map<std::string, manifest> done;
      std::ostringstream key;
      key << toml::json_formatter{o};
      std::lock_guard<std::mutex> guard{mx};
      if (auto i = done.find(key.str()); i != done.end())
        return i->second;
      return done[key.str()] = protocol_of(o) == "jsonl"
                                 ? external::jsonl::describe(o)
                                 : describe_extauth(o);
    },
    [](const spawn_context& ctx) {
      auto& o = ctx.options;
      if (protocol_of(o) == "jsonl")
        return external::jsonl::spawn(ctx);
      external::worker_config cfg;
      cfg.argv = strings_of(*o.get("command"));
      cfg.line_based = protocol_of(o) == "prosody";
      cfg.tag = "external: vhost " + ctx.domain;
      cfg.timeout = external::call_timeout(o);
      cfg.max_timeouts = static_cast<int>(
        o["max_timeouts"].value_or<int64_t>(3));
      return ctx.sys.spawn(serve, plugins::scope{ctx.domain, "external"},
                           std::move(cfg),
                           o["instances"].value_or<int64_t>(1));
    },
  };
}

} // namespace dja::plugins
