// push.sqlite: XEP-0357 Push Notifications (plugins/push/serve.hpp) with
// the registrations in an SQLite database
// (plugins/common/sqlite/doc_store.hpp has the schema, table
// `push_registrations`). SQLite calls block: the actor is detached.

#include "plugins/push/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "push.sqlite";

} // namespace

DJA_PLUGIN(push_sqlite) {
  return push::make_type(
    tag, "XEP-0357 push notifications, registrations in SQLite",
    docs::sqlite_options("push.sqlite", {}), [](const spawn_context& ctx) {
      return docs::sqlite_store(ctx, tag, "push.sqlite", push::table);
    });
}

} // namespace dja::plugins
