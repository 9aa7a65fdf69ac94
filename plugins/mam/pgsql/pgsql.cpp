// mam.pgsql: XEP-0313 user archives (plugins/mam/serve.hpp) in
// PostgreSQL (plugins/mam/pgsql/store.hpp), for clusters: nodes sharing
// the database share the archives. libpq calls block: the actor is
// detached.

#include "plugins/common/pgsql/options.hpp"
#include "plugins/mam/pgsql/store.hpp"
#include "plugins/mam/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "mam.pgsql";

} // namespace

DJA_PLUGIN(mam_pgsql) {
  return mam::make_type(
    tag, "XEP-0313 message archives in PostgreSQL", pgsql::options(),
    [](const spawn_context& ctx) {
      return std::make_shared<pgsql_mam::store>(ctx.domain,
                                                pgsql::settings_of(ctx, tag));
    });
}

} // namespace dja::plugins
