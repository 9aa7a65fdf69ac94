// carbons: XEP-0280 Message Carbons for the users of this vhost. The
// protocol runs in the core, where the state is: each session keeps
// whether its client enabled carbons and answers enable/disable
// (session/carbons.cpp), the router shard of a user copies messages to
// the user's other resources (router/carbons.cpp). This plugin is the
// switch: its disco feature (§3) turns that on for the vhost
// (vhost_info::carbons), so that what disco advertises is what happens.

#include <caf/all.hpp>

#include "common/namespaces.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

/// Serves no hook: everything is declared in the manifest.
caf::behavior carbons(caf::event_based_actor*) {
  return {[](caf::unit_t) {}};
}

} // namespace

DJA_PLUGIN(carbons) {
  return {
    "carbons",
    "XEP-0280 Message Carbons (with the XEP-0334 no-copy hint)",
    {},
    [](const toml::table&) {
      return manifest{{}, {}, {ns::carbons}, {}};
    },
    [](const spawn_context& ctx) { return ctx.sys.spawn(carbons); },
  };
}

} // namespace dja::plugins
