#pragma once

// What pep.memory, pep.sqlite and pep.pgsql share: XEP-0163 Personal
// Eventing Protocol over a XEP-0060 subset (README.md), its nodes kept
// as documents in a plugins/common/docs store (table `pep_nodes`, key =
// node name). Each backend only says which store.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hooks/plugin.hpp"
#include "plugins/common/docs/store.hpp"

namespace dja::plugins::pep {

/// The table (SQLite, PostgreSQL) of the nodes.
constexpr const char* table = "pep_nodes";

/// The plugin type `name`: `store_options`, then the PEP bounds; its
/// actor serves the pubsub iqs to the users' bare JIDs over the store
/// `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open);

} // namespace dja::plugins::pep
