// offline.pgsql: XEP-0160 offline messages (plugins/offline/serve.hpp)
// in PostgreSQL (plugins/offline/pgsql/store.hpp has the schema). Nodes
// sharing the database share the queues. libpq calls block: the actor is
// detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/offline/pgsql/store.hpp"
#include "plugins/offline/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "offline.pgsql";

} // namespace

DJA_PLUGIN(offline_pgsql) {
  return offline::make_type(
    tag, "XEP-0160 offline messages in PostgreSQL", pgsql::options(),
    [](const spawn_context& ctx) {
      return std::make_shared<pgsql_offline::store>(
        ctx.domain, pgsql::settings_of(ctx, tag));
    });
}

} // namespace dja::plugins
