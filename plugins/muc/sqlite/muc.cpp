// muc.sqlite: XEP-0045 Multi-User Chat (plugins/muc/serve.hpp) with the
// rooms in an SQLite database (plugins/common/sqlite/doc_store.hpp has
// the schema, table `muc_rooms`: one row per room). SQLite calls block:
// the service actor is detached (the room actors are not).

#include "plugins/muc/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "muc.sqlite";

} // namespace

DJA_PLUGIN(muc_sqlite) {
  return muc::make_type(
    tag, "XEP-0045 Multi-User Chat, rooms in an SQLite database",
    docs::sqlite_options("muc.sqlite", {}), [](const spawn_context& ctx) {
      return docs::sqlite_store(ctx, tag, "muc.sqlite", muc::table);
    });
}

} // namespace dja::plugins
