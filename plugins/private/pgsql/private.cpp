// private.pgsql: XEP-0049 Private XML Storage
// (plugins/private/serve.hpp) in PostgreSQL
// (plugins/common/pgsql/doc_store.hpp has the schema, table
// `private_xml`). Nodes sharing the database share the data. libpq calls
// block: the actor is detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/private/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "private.pgsql";

} // namespace

DJA_PLUGIN(private_pgsql) {
  return private_xml::make_type(
    tag, "XEP-0049 Private XML Storage in PostgreSQL",
    pgsql::options(), [](const spawn_context& ctx) {
      return docs::pgsql_store(ctx, tag, private_xml::table);
    });
}

} // namespace dja::plugins
