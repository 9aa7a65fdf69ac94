// muc.pgsql: XEP-0045 Multi-User Chat (plugins/muc/serve.hpp) with the
// rooms in PostgreSQL (plugins/common/pgsql/doc_store.hpp has the
// schema, table and schema_version component `muc_rooms`). libpq calls
// block: the service actor is detached (the room actors are not).

#include "plugins/common/pgsql/options.hpp"
#include "plugins/muc/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "muc.pgsql";

} // namespace

DJA_PLUGIN(muc_pgsql) {
  return muc::make_type(tag, "XEP-0045 Multi-User Chat, rooms in PostgreSQL",
                        pgsql::options(), [](const spawn_context& ctx) {
                          return docs::pgsql_store(ctx, tag, muc::table);
                        });
}

} // namespace dja::plugins
