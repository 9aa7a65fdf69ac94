// The table of component plugins by vhost (component.hpp: set_plugin,
// plugin_of): how a component stream, which knows its domain's vhost
// actor, finds the plugin that checks its secret and forwards to it.

#include <map>
#include <mutex>

#include <caf/actor_cast.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "component/component.hpp"

namespace dja::component {

namespace {

std::mutex mtx;
/// vhost actor -> its component plugin (weak: an ended plugin is null).
std::map<caf::actor_addr, caf::weak_actor_ptr>& table() {
  static std::map<caf::actor_addr, caf::weak_actor_ptr> t;
  return t;
}

} // namespace

void set_plugin(const caf::actor& vhost, const caf::actor& plugin) {
  std::lock_guard<std::mutex> lock{mtx};
  table()[vhost.address()] = caf::actor_cast<caf::weak_actor_ptr>(plugin);
}

caf::actor plugin_of(const caf::actor& vhost) {
  std::lock_guard<std::mutex> lock{mtx};
  auto i = table().find(vhost.address());
  if (i == table().end())
    return nullptr;
  return caf::actor_cast<caf::actor>(i->second);
}

} // namespace dja::component
