// csi: XEP-0352 Client State Indication for the users of this vhost. The
// holding and folding run in each session (session/csi.cpp), bounded by
// [limits] csi_queue; this plugin is the switch: its stream feature
// <csi xmlns='urn:xmpp:csi:0'/> (§2), offered after authentication,
// turns that on for the vhost (vhost_info::csi).

#include <caf/all.hpp>

#include "common/namespaces.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

/// Serves no hook: everything is declared in the manifest.
caf::behavior csi(caf::event_based_actor*) {
  return {[](caf::unit_t) {}};
}

} // namespace

DJA_PLUGIN(csi) {
  return {
    "csi",
    "XEP-0352 Client State Indication (presence and chat states held "
    "while the client is inactive)",
    {},
    [](const toml::table&) {
      manifest m;
      m.stream_features = {ns::csi};
      return m;
    },
    [](const spawn_context& ctx) { return ctx.sys.spawn(csi); },
  };
}

} // namespace dja::plugins
