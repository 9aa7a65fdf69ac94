#pragma once

// What push.memory, push.sqlite and push.pgsql share: XEP-0357 Push
// Notifications over a document store (plugins/common/docs/store.hpp,
// one document per account and app server jid+node). Each backend only
// says which store.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hooks/plugin.hpp"
#include "plugins/common/docs/store.hpp"

namespace dja::plugins::push {

/// The table (SQLite, PostgreSQL) of the registrations.
constexpr const char* table = "push_registrations";

/// The plugin type `name`: the options `store_options` of its store,
/// then those of every push plugin; its actor serves <enable/> and
/// <disable/>, `push.wake` and the app servers' answers over the store
/// `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open);

} // namespace dja::plugins::push
