#pragma once

// Fake plugin actors for the vhost tests: each answers every hook request
// the same way (accept, reject, decline, fail, stay silent, quit, throw or
// answer late) and writes what it got into a shared journal.

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "vhost/vhost.hpp"

namespace dja::testing {

using later_atom = caf::atom_constant<caf::atom("later")>;

/// What a fake plugin does with every request it gets.
enum class act {
  accept,  ///< handled(true) / an iq result / a filter that alters
  reject,  ///< handled(false) / handled(null iq) / a filter that drops
  decline, ///< declined: the next plugin goes on
  fail,    ///< answers with an error
  silent,  ///< never answers
  quit,    ///< quits on receipt without answering
  crash,   ///< throws on receipt
  late,    ///< accepts, but only `delay` later
};

/// What the fakes saw, in order, e.g. "p1 auth.check_password".
struct journal {
  std::vector<std::string> hops;
  std::map<std::string, int> spawns;
  std::map<std::string, caf::actor> current; ///< newest actor per plugin
};

struct fake_state {
  std::string name;
  act what = act::decline;
  caf::timespan delay{};
  std::shared_ptr<journal> log;
  std::vector<std::function<void()>> later; ///< answers due on later_atom
  std::vector<std::function<void()>> kept;  ///< promises never delivered
};

using fake_actor = caf::stateful_actor<fake_state>;

template <class Req>
hooks::answer<bool> make_answer(const fake_state&, const Req&, bool ok) {
  return hooks::answer<bool>::handled(ok);
}

inline hooks::answer<hooks::delivery_verdict>
make_answer(const fake_state&, const hooks::deliver&, bool ok) {
  return hooks::answer<hooks::delivery_verdict>::handled({ok, {}});
}

inline hooks::answer<xml::element_ptr>
make_answer(const fake_state& st, const hooks::iq_request&, bool ok) {
  if (!ok)
    return hooks::answer<xml::element_ptr>::handled(nullptr);
  auto reply = std::make_shared<xml::element>("iq", ns::client);
  reply->set_attr("type", "result");
  reply->add_child(xml::element{"answered-by", "urn:test"})
    .set_attr("name", st.name);
  return hooks::answer<xml::element_ptr>::handled(reply);
}

inline hooks::answer<hooks::filter_verdict>
make_answer(const fake_state& st, const hooks::filter_stanza& req, bool ok) {
  if (!ok)
    return hooks::answer<hooks::filter_verdict>::handled(
      {nullptr, "dropped by " + st.name});
  auto altered = std::make_shared<xml::element>(*req.stanza);
  altered->set_attr("seen-" + st.name, "yes");
  return hooks::answer<hooks::filter_verdict>::handled({altered, {}});
}

/// Presence folds alter and drop like filters.
inline hooks::answer<hooks::filter_verdict>
make_answer(const fake_state& st, const hooks::presence_alter_available& req,
            bool ok) {
  return make_answer(st, hooks::filter_stanza{req.stanza, req.user}, ok);
}

inline hooks::answer<hooks::filter_verdict>
make_answer(const fake_state& st,
            const hooks::presence_alter_unavailable& req, bool ok) {
  return make_answer(st, hooks::filter_stanza{req.stanza, req.user}, ok);
}

/// presence.check: accept reports one presence from the contact (with the
/// plugin's name as resource), reject reports none.
inline hooks::answer<std::vector<xml::element_ptr>>
make_answer(const fake_state& st, const hooks::presence_check& req, bool ok) {
  std::vector<xml::element_ptr> found;
  if (ok) {
    auto p = std::make_shared<xml::element>("presence", ns::client);
    p->set_attr("from", req.contact.with_resource(st.name).str());
    found.push_back(p);
  }
  return hooks::answer<std::vector<xml::element_ptr>>::handled(found);
}

/// What a filter saw from the filters before it, for the journal.
template <class Req>
std::string seen(const Req&) {
  return {};
}

inline std::string seen(const xml::element_ptr& stanza);

inline std::string seen(const hooks::filter_stanza& req) {
  return seen(req.stanza);
}

inline std::string seen(const hooks::presence_alter_available& req) {
  return seen(req.stanza);
}

inline std::string seen(const hooks::presence_alter_unavailable& req) {
  return seen(req.stanza);
}

inline std::string seen(const xml::element_ptr& stanza) {
  std::string res;
  for (auto& a : stanza->attrs)
    if (a.name.rfind("seen-", 0) == 0)
      res += " " + a.name;
  return res;
}

template <class Req>
caf::result<typename Req::answer_type> serve(fake_actor* self,
                                             const Req& req) {
  using answer_t = typename Req::answer_type;
  auto& st = self->state;
  st.log->hops.push_back(st.name + " " + Req::name + seen(req));
  switch (st.what) {
    case act::accept:
      return make_answer(st, req, true);
    case act::reject:
      return make_answer(st, req, false);
    case act::decline:
      return answer_t::decline();
    case act::fail:
      return caf::make_error(caf::sec::runtime_error);
    case act::silent:
    case act::quit: {
      auto rp = self->make_response_promise<answer_t>();
      st.kept.push_back([rp] {});
      if (st.what == act::quit)
        self->quit(caf::sec::runtime_error);
      return rp;
    }
    case act::crash:
      throw std::runtime_error("fake plugin bug");
    case act::late: {
      auto rp = self->make_response_promise<answer_t>();
      auto a = make_answer(st, req, true);
      st.later.push_back([rp, a]() mutable { rp.deliver(std::move(a)); });
      self->delayed_send(self, st.delay, later_atom::value);
      return rp;
    }
  }
  return answer_t::decline();
}

/// Notices are recorded with how they came: a plain send or a request.
template <class Notice>
void note(fake_actor* self, const Notice& n) {
  auto req = self->current_mailbox_element()->mid.is_request();
  self->state.log->hops.push_back(self->state.name + " " + Notice::name + " "
                                  + n.full.str()
                                  + (req ? " (request)" : " (send)"));
}

inline caf::behavior fake_plugin(fake_actor* self, std::string name, act what,
                          caf::timespan delay, std::shared_ptr<journal> log) {
  self->state = fake_state{std::move(name), what, delay, std::move(log),
                           {}, {}};
  self->set_exception_handler([](std::exception_ptr&) -> caf::error {
    return caf::sec::runtime_error; // quietly: the vhost logs the death
  });
  return {
    [self](const hooks::auth_check_password& r) { return serve(self, r); },
    [self](const hooks::auth_user_exists& r) { return serve(self, r); },
    [self](const hooks::iq_request& r) { return serve(self, r); },
    [self](const hooks::filter_stanza& r) { return serve(self, r); },
    [self](const hooks::deliver& r) { return serve(self, r); },
    [self](const hooks::connection_accepted& r) { return serve(self, r); },
    [self](const hooks::session_bound& n) { note(self, n); },
    [self](const hooks::session_closed& n) { note(self, n); },
    [self](const hooks::presence_check& r) { return serve(self, r); },
    [self](const hooks::presence_alter_available& r) {
      return serve(self, r);
    },
    [self](const hooks::presence_alter_unavailable& r) {
      return serve(self, r);
    },
    [self](const hooks::presence_initial& n) { note(self, n); },
    [self](later_atom) {
      auto& l = self->state.later;
      if (!l.empty()) {
        auto f = std::move(l.front());
        l.erase(l.begin());
        f();
      }
    },
  };
}

/// A fake plugin instance: its n-th spawn behaves as acts[n] (the last
/// entry repeats).
struct fake {
  std::string name;
  std::vector<act> acts;
  std::vector<hooks::hook_id> hooks;
  std::vector<std::string> iqs = {};
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds delay{0};
};

/// The plugin instance a vhost spawns for `f`: its n-th spawn behaves as
/// f.acts[n], each recorded in `log` (spawns, current).
inline plugin_instance instance(const fake& f, std::shared_ptr<journal> log) {
  plugin_instance p;
  p.name = f.name;
  p.manifest.hooks = f.hooks;
  p.manifest.iqs = f.iqs;
  p.timeout = f.timeout;
  // (variadic: spawn may also get the vhost actor, which fakes ignore)
  p.spawn = [log, f](caf::actor_system& sys, auto&&...) {
    auto n = static_cast<size_t>(log->spawns[f.name]++);
    auto what = f.acts[std::min(n, f.acts.size() - 1)];
    auto hdl = sys.spawn(fake_plugin, f.name, what, caf::timespan{f.delay},
                         log);
    log->current[f.name] = hdl;
    return hdl;
  };
  return p;
}

} // namespace dja::testing
