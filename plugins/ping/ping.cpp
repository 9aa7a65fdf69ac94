// ping: XEP-0199 XMPP Ping, answered by the server for its domain and for
// its users' bare JIDs.

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

caf::behavior ping(caf::event_based_actor*) {
  using hooks::answer;
  return {
    [](const hooks::iq_request& r) -> answer<xml::element_ptr> {
      auto reply = errors::iq_result(*r.stanza);
      return answer<xml::element_ptr>::handled(
        std::make_shared<xml::element>(std::move(reply)));
    },
  };
}

} // namespace

DJA_PLUGIN(ping) {
  return {
    "ping",
    "XEP-0199 XMPP Ping",
    {},
    [](const toml::table&) {
      return manifest{{}, {std::string{"get "} + ns::ping}, {ns::ping}, {}};
    },
    [](const spawn_context& ctx) { return ctx.sys.spawn(ping); },
  };
}

} // namespace dja::plugins
