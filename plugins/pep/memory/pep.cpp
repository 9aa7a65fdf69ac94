// pep.memory: XEP-0163 PEP (plugins/pep/serve.hpp) with the nodes in the
// plugin's memory (tests and all-in-memory configurations; lost when the
// server stops).

#include "plugins/pep/serve.hpp"

namespace dja::plugins {

DJA_PLUGIN(pep_memory) {
  return pep::make_type("pep.memory",
                        "XEP-0163 Personal Eventing Protocol in memory (lost "
                        "on restart)",
                        {}, [](const spawn_context&) {
                          return docs::memory_store();
                        });
}

} // namespace dja::plugins
