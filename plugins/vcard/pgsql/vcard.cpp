// vcard.pgsql: XEP-0054 vcard-temp (plugins/vcard/serve.hpp) with the
// vCards in PostgreSQL (plugins/common/pgsql/doc_store.hpp has the schema,
// table `vcards`). Nodes sharing the database share the vCards. libpq
// calls block: the actor is detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/vcard/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "vcard.pgsql";

} // namespace

DJA_PLUGIN(vcard_pgsql) {
  return vcard::make_type(
    tag, "XEP-0054 vcard-temp, vCards stored in PostgreSQL",
    pgsql::options(), [](const spawn_context& ctx) {
      return docs::pgsql_store(ctx, tag, vcard::table);
    });
}

} // namespace dja::plugins
