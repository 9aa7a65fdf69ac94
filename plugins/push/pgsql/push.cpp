// push.pgsql: XEP-0357 Push Notifications (plugins/push/serve.hpp) with
// the registrations in PostgreSQL (plugins/common/pgsql/doc_store.hpp
// has the schema, table and schema_version component
// `push_registrations`): the nodes of a cluster share them. libpq calls
// block: the actor is detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/push/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "push.pgsql";

} // namespace

DJA_PLUGIN(push_pgsql) {
  return push::make_type(
    tag, "XEP-0357 push notifications, registrations in PostgreSQL",
    pgsql::options(), [](const spawn_context& ctx) {
      return docs::pgsql_store(ctx, tag, push::table);
    });
}

} // namespace dja::plugins
