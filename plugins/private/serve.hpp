#pragma once

// What private.memory, private.sqlite and private.pgsql share: XEP-0049
// Private XML Storage (jabber:iq:private) over a document store
// (plugins/common/docs/store.hpp, key "{namespace}name"), its size
// bounds (`max_bytes` per set, `quota` per account) included. Each
// backend only says which store.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugins/common/docs/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::private_xml {

/// The table (SQLite, PostgreSQL) of the stored elements.
constexpr const char* table = "private_xml";

/// The plugin type `name`: the options `store_options` of its store, then
/// `max_bytes` and `quota`; its actor serves jabber:iq:private over the
/// store `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open);

} // namespace dja::plugins::private_xml
