// hello: the example plugin library of docs/plugins.md, built against the
// installed SDK (CMakeLists.txt beside it). One of each hook kind:
//  - auth.check_password (first): the accounts of its `users` option;
//    any other user is declined, so the next auth plugin answers;
//  - filter.stanza (fold): a message whose body contains "hello" gets a
//    <greeted xmlns='urn:example:hello'/> child; one whose body is the
//    `drop_word` option is dropped; everything else passes unchanged;
//  - session.bound (notify): counted;
//  - the IQ namespace urn:example:hello (XEP-0030 feature too): an iq get
//    of <hello xmlns='urn:example:hello'/> is answered with
//    <hello><greeting>GREETING, JID!</greeting><bound>N</bound></hello>,
//    N the sessions bound since the start.

#include <map>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

// The type's name in the configuration (`type = "hello"`); the project's
// tests build this file more than once under other names.
#ifndef HELLO_TYPE
#  define HELLO_TYPE "hello"
#endif

namespace {

using namespace dja;

constexpr const char* ns_hello = "urn:example:hello";

struct options {
  std::map<std::string, std::string> users; ///< local part -> password
  std::string greeting;
  std::string drop_word;
};

struct state {
  int bound = 0; ///< session.bound notifications seen
};

caf::behavior hello(caf::stateful_actor<state>* self,
                    std::shared_ptr<const options> opts) {
  using password_t = hooks::auth_check_password::answer_type;
  using verdict_t = hooks::filter_stanza::answer_type;
  using iq_t = hooks::iq_request::answer_type;
  return {
    // first: handled for our users, declined for the others.
    [opts](const hooks::auth_check_password& r) -> password_t {
      auto i = opts->users.find(r.user.local());
      if (i == opts->users.end())
        return password_t::decline();
      return password_t::handled(i->second == r.password);
    },
    // fold: pass (maybe altered) or drop.
    [opts](const hooks::filter_stanza& r) -> verdict_t {
      auto body = r.stanza->child("body");
      if (r.stanza->name != "message" || body == nullptr)
        return verdict_t::decline(); // = pass unchanged
      if (!opts->drop_word.empty() && body->text() == opts->drop_word)
        return verdict_t::handled({nullptr, HELLO_TYPE ": drop_word"});
      if (body->text().find("hello") == std::string::npos)
        return verdict_t::decline();
      auto out = std::make_shared<xml::element>(*r.stanza);
      out->add_child(xml::element{"greeted", ns_hello});
      return verdict_t::handled({out, {}});
    },
    // notify: nobody waits for an answer.
    [self](const hooks::session_bound& n) {
      ++self->state.bound;
      spdlog::debug("{}: {} bound ({} so far)", HELLO_TYPE, n.full.str(),
                    self->state.bound);
    },
    // The IQ namespace this plugin declared ("get urn:example:hello").
    [self, opts](const hooks::iq_request& r) -> iq_t {
      auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
      auto& q = reply->add_child(xml::element{"hello", ns_hello});
      q.add_child(xml::element{"greeting", ns_hello})
        .add_text(opts->greeting + ", " + r.from.bare_str() + "!");
      q.add_child(xml::element{"bound", ns_hello})
        .add_text(std::to_string(self->state.bound));
      return iq_t::handled(reply);
    },
  };
}

} // namespace

DJA_PLUGIN(hello) {
  using namespace dja::plugins;
  return {
    HELLO_TYPE,
    "example plugin library: one hook of each kind",
    {{"users", option_type::string_map, false,
      "user name -> password; other users are declined"},
     {"greeting", option_type::string, false,
      "the greeting of the urn:example:hello answer (default \"Hello\")"},
     {"drop_word", option_type::string, false,
      "messages with exactly this body are dropped (default: none)"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::auth_check_password>,
                       hooks::id<hooks::filter_stanza>,
                       hooks::id<hooks::session_bound>},
                      {std::string{"get "} + ns_hello},
                      {ns_hello},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto o = std::make_shared<options>();
      if (auto users = ctx.options["users"].as_table())
        for (auto&& [k, v] : *users)
          o->users[std::string{k.str()}] = v.value_or(std::string{});
      o->greeting = ctx.options["greeting"].value_or(std::string{"Hello"});
      o->drop_word = ctx.options["drop_word"].value_or(std::string{});
      spdlog::info("{}: vhost {}: {} account(s)", HELLO_TYPE, ctx.domain,
                   o->users.size());
      return ctx.sys.spawn(hello, std::move(o));
    },
  };
}
