// vcard.sqlite: XEP-0054 vcard-temp (plugins/vcard/serve.hpp) with the
// vCards in an SQLite database (plugins/common/sqlite/doc_store.hpp has
// the schema, table `vcards`). SQLite calls block: the actor is detached.

#include "plugins/vcard/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "vcard.sqlite";

} // namespace

DJA_PLUGIN(vcard_sqlite) {
  return vcard::make_type(
    tag, "XEP-0054 vcard-temp, vCards stored in an SQLite database",
    docs::sqlite_options("vcards.sqlite", {}),
    [](const spawn_context& ctx) {
      return docs::sqlite_store(ctx, tag, "vcards.sqlite", vcard::table);
    });
}

} // namespace dja::plugins
