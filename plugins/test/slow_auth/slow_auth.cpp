// test.slow_auth: for tests only. Like auth.static, but every password
// check is answered after `delay_ms`, the way a slow backend (an HTTP
// service, a remote database) would. Shows that a slow plugin on one
// vhost delays nobody else.

#include <deque>

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/users.hpp"

namespace dja::plugins {

namespace {

using answer_t = hooks::answer<bool>;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct slow_state {
  std::deque<std::pair<caf::response_promise, answer_t>> waiting;
};

caf::behavior slow_auth(caf::stateful_actor<slow_state>* self,
                        std::shared_ptr<const user_table> users,
                        std::chrono::milliseconds delay) {
  return {
    [=](const hooks::auth_check_password& r) -> caf::result<answer_t> {
      auto i = users->find(r.user.local());
      auto a = i == users->end()
                 ? answer_t::decline()
                 : answer_t::handled(same_secret(i->second, r.password));
      // Equal delays: answers leave in arrival order.
      self->state.waiting.emplace_back(self->make_response_promise(), a);
      self->delayed_send(self, delay, done_atom::value);
      return caf::delegated<answer_t>{};
    },
    [=](done_atom) {
      auto& w = self->state.waiting;
      if (w.empty())
        return;
      w.front().first.deliver(w.front().second);
      w.pop_front();
    },
    [users](const hooks::auth_user_exists& r) -> answer_t {
      if (users->count(r.user.local()) == 0)
        return answer_t::decline();
      return answer_t::handled(true);
    },
  };
}

} // namespace

DJA_PLUGIN(test_slow_auth) {
  return {
    "test.slow_auth",
    "tests only: auth.static answering after a delay",
    {{"users", option_type::string_map, true, "user name -> password"},
     {"delay_ms", option_type::integer, true, "delay of every answer"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::auth_check_password>,
                       hooks::id<hooks::auth_user_exists>},
                      {},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto ms = ctx.options["delay_ms"].value_or<int64_t>(0);
      return ctx.sys.spawn(slow_auth, read_users(ctx.options),
                           std::chrono::milliseconds{ms});
    },
  };
}

} // namespace dja::plugins
