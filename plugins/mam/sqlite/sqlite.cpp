// mam.sqlite: XEP-0313 user archives (plugins/mam/serve.hpp) in an SQLite
// database (plugins/mam/sqlite/store.hpp). SQLite calls block: the actor
// is detached. The default archive of config/server.toml.

#include <filesystem>

#include "plugins/mam/serve.hpp"
#include "plugins/mam/sqlite/store.hpp"

namespace dja::plugins {

DJA_PLUGIN(mam_sqlite) {
  return mam::make_type(
    "mam.sqlite", "XEP-0313 message archives in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default \"mam.sqlite\")"}},
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"mam.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      return std::make_shared<sqlite_mam::store>(ctx.domain, path);
    });
}

} // namespace dja::plugins
