// blocking.pgsql: XEP-0191 block lists in PostgreSQL
// (plugins/blocking/pgsql/store.hpp has the schema), with the behaviour of
// blocking.sqlite: the same hooks (plugins/blocking/serve.hpp), only the
// backend differs. Nodes sharing the database share the lists. libpq
// calls block: the actor is detached. A storage failure is replied as an
// error.

#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/blocking/pgsql/store.hpp"
#include "plugins/blocking/serve.hpp"
#include "plugins/common/pgsql/options.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "blocking.pgsql";

caf::behavior blocking_pgsql(caf::event_based_actor* self,
                             std::string domain, pgsql::settings cfg) {
  auto db = std::make_shared<pgsql_blocking::store>(domain, std::move(cfg));
  // On the actor's own thread: connecting (and migrating) may take a while.
  if (auto err = db->connect())
    spdlog::error("blocking.pgsql: vhost {}: every request fails until the "
                  "database can be reached",
                  domain);
  return blocking::serve(self, std::move(domain), tag, std::move(db));
}

} // namespace

DJA_PLUGIN(blocking_pgsql) {
  return {
    tag,
    "XEP-0191 block lists in PostgreSQL",
    pgsql::options(),
    [](const toml::table&) { return blocking::describe(); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn<caf::detached>(blocking_pgsql, ctx.domain,
                                          pgsql::settings_of(ctx, tag));
    },
  };
}

} // namespace dja::plugins
