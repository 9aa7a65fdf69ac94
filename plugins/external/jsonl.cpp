// The jsonl dispatcher (jsonl.hpp): one handler per hook of the catalogue,
// made from the list of hooks (so no hook has a hand-written one): it
// turns the request into a call (jsonl_codec.hpp), hands it to the least
// loaded of `instances` workers (jsonl_worker.hpp, one process each) and
// turns the result back into the hook's answer: null = declined, so the
// next plugin of the chain runs; an error or a timeout takes the hook's
// error path (for a login: SASL <temporary-auth-failure/>).

#include "plugins/external/jsonl.hpp"

#include <sstream>
#include <type_traits>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/common/scope.hpp"
#include "plugins/external/jsonl_worker.hpp"

namespace dja::plugins::external {

std::chrono::milliseconds call_timeout(const toml::table& o) {
  if (auto v = o["call_timeout_ms"].value<int64_t>())
    return std::chrono::milliseconds{*v};
  if (auto v = o["timeout"].value<int64_t>())
    return std::chrono::seconds{*v};
  return std::chrono::milliseconds{3000};
}

} // namespace dja::plugins::external

namespace dja::plugins::external::jsonl {

namespace {

struct dispatcher_state {
  plugins::scope scope;
  std::vector<caf::actor> workers;
  std::vector<size_t> load; ///< calls in flight per worker
  std::vector<worker_status> status;
  size_t next = 0; ///< round-robin among equally loaded ones

  /// The least loaded ready worker (else a starting one); -1: none.
  int pick() {
    int best = -1;
    for (auto want : {worker_status::ready, worker_status::starting}) {
      for (size_t k = 0; k < workers.size(); ++k) {
        auto i = (next + k) % workers.size();
        if (status[i] == want && (best < 0 || load[i] < load[best]))
          best = static_cast<int>(i);
      }
      if (best >= 0)
        break;
    }
    ++next;
    return best;
  }
};

using dispatcher = caf::stateful_actor<dispatcher_state>;

/// Hooks whose request names a local `user`: a user of another vhost is
/// declined without asking the program.
template <class T, class = void>
struct has_user : std::false_type {};
template <class T>
struct has_user<T, std::void_t<decltype(std::declval<T&>().user)>>
  : std::is_same<std::decay_t<decltype(std::declval<T&>().user)>, jid> {};

/// The answer of `Hook` from a result.
template <class Hook>
caf::expected<typename Hook::answer_type>
to_answer(const plugins::scope& scope, const json& result) {
  using answer_t = typename Hook::answer_type;
  if (result.is_null())
    return answer_t::decline();
  answer_t res;
  res.declined = false;
  std::string err;
  try {
    err = decode(result, res.value);
  } catch (const json::exception& e) {
    err = "well-formed values";
  }
  if (err.empty())
    return res;
  spdlog::error("{}: vhost {}: {}: the program's result is not {}: {}",
                scope.tag, scope.domain, Hook::name, err,
                result.dump().substr(0, 200));
  return caf::make_error(caf::sec::runtime_error, "external: bad result");
}

template <class Hook>
auto handler(dispatcher* self) {
  if constexpr (Hook::kind == hooks::hook_kind::notify) {
    return [self](const Hook& req) {
      auto& st = self->state;
      if (auto i = st.pick(); i >= 0)
        self->send(st.workers[i], notify_atom::value,
                   call{Hook::name, params_of(req)});
    };
  } else {
    return [self](const Hook& req)
             -> caf::result<typename Hook::answer_type> {
      using answer_t = typename Hook::answer_type;
      auto& st = self->state;
      if constexpr (has_user<Hook>::value)
        if (!st.scope.ours(req.user))
          return answer_t::decline();
      auto i = st.pick();
      if (i < 0)
        return st.scope.failed(Hook::name,
                               caf::make_error(caf::sec::runtime_error,
                                               "every instance restarting"));
      auto rp = self->make_response_promise<answer_t>();
      ++st.load[i];
      self->request(st.workers[i], caf::infinite,
                    call{Hook::name, params_of(req)})
        .then(
          [self, rp, i](json& result) mutable {
            --self->state.load[i];
            auto res = to_answer<Hook>(self->state.scope, result);
            if (res)
              rp.deliver(std::move(*res));
            else
              rp.deliver(std::move(res.error()));
          },
          [self, rp, i](caf::error& err) mutable {
            --self->state.load[i];
            rp.deliver(self->state.scope.failed(Hook::name, err));
          });
      return rp;
    };
  }
}

template <class... Hooks>
caf::behavior serve_all(dispatcher* self, hooks::list<Hooks...>) {
  return {
    [self](state_atom, size_t i, worker_status s) {
      self->state.status[i] = s;
    },
    handler<Hooks>(self)...,
  };
}

/// The options of a block as JSON (the `config` of `initialize`).
json options_json(const toml::table& options) {
  std::ostringstream out;
  out << toml::json_formatter{options};
  return json::parse(out.str(), nullptr, false);
}

json init_params(const toml::table& options) {
  return {{"protocol", "jsonl/1"},
          {"server", {{"name", "djabberd-actors"}, {"version", DJA_VERSION}}},
          {"config", options_json(options)}};
}

std::vector<std::string> command_of(const toml::table& options) {
  std::vector<std::string> out;
  if (auto a = options["command"].as_array())
    for (auto& x : *a)
      if (auto s = x.value<std::string>())
        out.push_back(*s);
  return out;
}

std::chrono::milliseconds ms(const toml::table& o, const char* key,
                             int64_t fallback) {
  return std::chrono::milliseconds{o[key].value_or(fallback)};
}

} // namespace

manifest describe(const toml::table& options) {
  manifest m;
  auto argv = command_of(options);
  if (argv.empty())
    return m; // the config check reports the command
  auto r = handshake(argv, init_params(options),
                     ms(options, "start_timeout_ms", 5000), m.error);
  if (!m.error.empty())
    return m;
  m.hooks = hooks_of(r["hooks"], m.error);
  for (auto [key, out] : {std::pair{"iqs", &m.iqs},
                          std::pair{"features", &m.features},
                          std::pair{"identities", &m.identities},
                          std::pair{"stream_features", &m.stream_features}})
    if (r.contains(key))
      decode(r[key], *out);
  spdlog::debug("external: {} serves {}", argv[0], r.dump());
  return m;
}

caf::actor spawn(const spawn_context& ctx) {
  // The actor starts later, on a thread of the scheduler: copies.
  auto self_fn = [opts = ctx.options, domain = ctx.domain](dispatcher* self) {
    auto& st = self->state;
    st.scope = plugins::scope{domain, "external"};
    auto instances = opts["instances"].value_or<int64_t>(1);
    for (int64_t i = 0; i < instances; ++i) {
      worker_config wc;
      wc.argv = command_of(opts);
      wc.tag = "external: vhost " + domain + "[" + std::to_string(i)
               + "]";
      wc.index = static_cast<size_t>(i);
      wc.parent = caf::actor_cast<caf::actor>(self);
      wc.init_params = init_params(opts);
      wc.init_params["instance"] = i;
      wc.timeout = call_timeout(opts);
      wc.start_timeout = ms(opts, "start_timeout_ms", 5000);
      wc.max_timeouts = static_cast<int>(
        opts["max_timeouts"].value_or<int64_t>(3));
      wc.concurrency = static_cast<size_t>(
        opts["concurrency"].value_or<int64_t>(8));
      st.workers.push_back(
        self->spawn<caf::detached + caf::linked>(worker, std::move(wc)));
      st.load.push_back(0);
      st.status.push_back(worker_status::starting);
    }
    return serve_all(self, hooks::all{});
  };
  return ctx.sys.spawn(self_fn);
}

} // namespace dja::plugins::external::jsonl
