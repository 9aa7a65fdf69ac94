// test.presence: for tests only. Shows the presence hooks at work:
//  - presence.check: the contacts listed in `available` are reported
//    available ("known elsewhere", as a gateway or a phone system would),
//    with resource `resource` and status `status`; other contacts are
//    declined (the router's answer alone);
//  - presence.alter_available: adds <altered xmlns='urn:djabberd-actors:
//    test:presence'/> to every available broadcast, and drops the ones
//    whose <status/> is `drop_status`;
//  - presence.initial: remembered; an iq get of
//    <initial xmlns='urn:djabberd-actors:test:presence'/> to the server
//    lists the full JIDs that sent initial presence, oldest first, and
//    their number (`count`).

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

constexpr const char* ns_test = "urn:djabberd-actors:test:presence";

struct test_presence_options {
  std::vector<jid> available;
  std::string resource;
  std::string status;
  std::string drop_status;
};

struct test_presence_state {
  std::vector<std::string> initial; ///< full JIDs, in arrival order
};

caf::behavior
test_presence(caf::stateful_actor<test_presence_state>* self,
              std::shared_ptr<const test_presence_options> opts) {
  using check_t = hooks::presence_check::answer_type;
  using verdict_t = hooks::presence_alter_available::answer_type;
  using iq_t = hooks::iq_request::answer_type;
  return {
    [opts](const hooks::presence_check& r) -> check_t {
      auto& a = opts->available;
      if (std::find(a.begin(), a.end(), r.contact) == a.end())
        return check_t::decline();
      auto p = std::make_shared<xml::element>("presence", ns::client);
      p->set_attr("from", r.contact.with_resource(opts->resource).str());
      p->add_child(xml::element{"show", ns::client}).add_text("chat");
      p->add_child(xml::element{"status", ns::client}).add_text(opts->status);
      return check_t::handled({p});
    },
    [opts](const hooks::presence_alter_available& r) -> verdict_t {
      auto st = r.stanza->child("status", ns::client);
      if (!opts->drop_status.empty() && st != nullptr
          && st->text() == opts->drop_status)
        return verdict_t::handled({nullptr, "test.presence: drop_status"});
      auto out = std::make_shared<xml::element>(*r.stanza);
      out->add_child(xml::element{"altered", ns_test});
      return verdict_t::handled({out, {}});
    },
    [self](const hooks::presence_initial& n) {
      self->state.initial.push_back(n.full.str());
    },
    [self](const hooks::iq_request& r) -> iq_t {
      auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
      auto& q = reply->add_child(xml::element{"initial", ns_test});
      q.set_attr("count", std::to_string(self->state.initial.size()));
      for (auto& j : self->state.initial)
        q.add_child(xml::element{"jid", ns_test}).add_text(j);
      return iq_t::handled(reply);
    },
  };
}

} // namespace

DJA_PLUGIN(test_presence) {
  return {
    "test.presence",
    "tests only: serves the presence hooks (check, alter, initial)",
    {{"available", option_type::string_list, false,
      "bare JIDs that presence.check reports available"},
     {"resource", option_type::string, false,
      "their resource (default \"ext\")"},
     {"status", option_type::string, false,
      "their <status/> (default \"known elsewhere\")"},
     {"drop_status", option_type::string, false,
      "available presences with this <status/> are dropped (default: none)"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::presence_check>,
                       hooks::id<hooks::presence_alter_available>,
                       hooks::id<hooks::presence_initial>},
                      {std::string{"get "} + ns_test},
                      {},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto o = std::make_shared<test_presence_options>();
      if (auto list = ctx.options["available"].as_array())
        for (auto& v : *list)
          if (auto s = v.value<std::string>())
            if (auto j = jid::parse(*s))
              o->available.push_back(j->bare());
      o->resource = ctx.options["resource"].value_or(std::string{"ext"});
      o->status
        = ctx.options["status"].value_or(std::string{"known elsewhere"});
      o->drop_status = ctx.options["drop_status"].value_or(std::string{});
      return ctx.sys.spawn(test_presence, std::move(o));
    },
  };
}

} // namespace dja::plugins
