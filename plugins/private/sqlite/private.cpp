// private.sqlite: XEP-0049 Private XML Storage
// (plugins/private/serve.hpp) in an SQLite database
// (plugins/common/sqlite/doc_store.hpp has the schema, table
// `private_xml`). SQLite calls block: the actor is detached.

#include "plugins/private/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "private.sqlite";

} // namespace

DJA_PLUGIN(private_sqlite) {
  return private_xml::make_type(
    tag, "XEP-0049 Private XML Storage in an SQLite database",
    docs::sqlite_options("private.sqlite", {}),
    [](const spawn_context& ctx) {
      return docs::sqlite_store(ctx, tag, "private.sqlite",
                                private_xml::table);
    });
}

} // namespace dja::plugins
