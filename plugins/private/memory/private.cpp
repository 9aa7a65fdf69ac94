// private.memory: XEP-0049 Private XML Storage
// (plugins/private/serve.hpp) with the stored elements in the plugin's
// memory (for all-in-memory configurations and tests; lost when the
// server stops).

#include "plugins/private/serve.hpp"

namespace dja::plugins {

DJA_PLUGIN(private_memory) {
  return private_xml::make_type(
    "private.memory",
    "XEP-0049 Private XML Storage in memory (lost on restart)",
    {}, [](const spawn_context&) { return docs::memory_store(); });
}

} // namespace dja::plugins
