#pragma once

// What vcard.memory, vcard.sqlite and vcard.pgsql share: XEP-0054
// vcard-temp over a document store (plugins/common/docs/store.hpp, one
// document per account, key ""), and with `avatar_hash` (default on)
// XEP-0153 avatar hashes in the user's available presence
// (plugins/vcard/common/avatar.hpp). Each backend only says which store.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugins/common/docs/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::vcard {

/// The table (SQLite, PostgreSQL) of the vCards.
constexpr const char* table = "vcards";

/// The plugin type `name`: the options `store_options` of its store, then
/// `max_bytes` and `avatar_hash`; its actor serves the vCard hooks over
/// the store `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open);

} // namespace dja::plugins::vcard
