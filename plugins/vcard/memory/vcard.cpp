// vcard.memory: XEP-0054 vcard-temp (plugins/vcard/serve.hpp) with the
// vCards in the plugin's memory (for all-in-memory configurations and
// tests; lost when the server stops).

#include "plugins/vcard/serve.hpp"

namespace dja::plugins {

DJA_PLUGIN(vcard_memory) {
  return vcard::make_type(
    "vcard.memory", "XEP-0054 vcard-temp, vCards in memory (lost on restart)",
    {}, [](const spawn_context&) { return docs::memory_store(); });
}

} // namespace dja::plugins
