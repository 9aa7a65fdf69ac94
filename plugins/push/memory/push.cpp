// push.memory: XEP-0357 Push Notifications (plugins/push/serve.hpp) with
// the registrations in the plugin's memory (for all-in-memory
// configurations and tests; lost when the server stops).

#include "plugins/push/serve.hpp"

namespace dja::plugins {

DJA_PLUGIN(push_memory) {
  return push::make_type(
    "push.memory", "XEP-0357 push notifications, registrations in memory",
    {}, [](const spawn_context&) { return docs::memory_store(); });
}

} // namespace dja::plugins
