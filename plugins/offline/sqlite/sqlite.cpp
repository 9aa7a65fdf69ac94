// offline.sqlite: XEP-0160 offline messages (plugins/offline/serve.hpp)
// in an SQLite database (plugins/offline/sqlite/store.hpp has the
// schema). SQLite calls block: the actor is detached.

#include <filesystem>

#include "plugins/offline/serve.hpp"
#include "plugins/offline/sqlite/store.hpp"

namespace dja::plugins {

DJA_PLUGIN(offline_sqlite) {
  return offline::make_type(
    "offline.sqlite", "XEP-0160 offline messages in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"offline.sqlite\")"}},
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"offline.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      return std::make_shared<sqlite_offline::store>(ctx.domain, path);
    });
}

} // namespace dja::plugins
