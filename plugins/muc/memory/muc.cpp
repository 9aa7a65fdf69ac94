// muc.memory: XEP-0045 Multi-User Chat (plugins/muc/serve.hpp) with the
// rooms in the plugin's memory (tests and all-in-memory configurations;
// persistent rooms are lost when the server stops).

#include "plugins/muc/serve.hpp"

namespace dja::plugins {

DJA_PLUGIN(muc_memory) {
  return muc::make_type("muc.memory",
                        "XEP-0045 Multi-User Chat, rooms in memory (lost on "
                        "restart)",
                        {}, [](const spawn_context&) {
                          return docs::memory_store();
                        });
}

} // namespace dja::plugins
