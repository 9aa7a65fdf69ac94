// pep.pgsql: XEP-0163 PEP (plugins/pep/serve.hpp) in PostgreSQL
// (plugins/common/pgsql/doc_store.hpp has the schema, table and
// schema_version component `pep_nodes`). Nodes sharing the database
// share the nodes; notifications reach the users of this node only.
// libpq calls block: the actor is detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/pep/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "pep.pgsql";

} // namespace

DJA_PLUGIN(pep_pgsql) {
  return pep::make_type(tag,
                        "XEP-0163 Personal Eventing Protocol in PostgreSQL",
                        pgsql::options(), [](const spawn_context& ctx) {
                          return docs::pgsql_store(ctx, tag, pep::table);
                        });
}

} // namespace dja::plugins
