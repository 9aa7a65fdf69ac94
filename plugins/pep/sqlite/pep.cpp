// pep.sqlite: XEP-0163 PEP (plugins/pep/serve.hpp) in an SQLite database
// (plugins/common/sqlite/doc_store.hpp has the schema, table
// `pep_nodes`: one row per node). SQLite calls block: the actor is
// detached.

#include "plugins/pep/serve.hpp"

namespace dja::plugins {

namespace {

constexpr const char* tag = "pep.sqlite";

} // namespace

DJA_PLUGIN(pep_sqlite) {
  return pep::make_type(
    tag, "XEP-0163 Personal Eventing Protocol in an SQLite database",
    docs::sqlite_options("pep.sqlite", {}), [](const spawn_context& ctx) {
      return docs::sqlite_store(ctx, tag, "pep.sqlite", pep::table);
    });
}

} // namespace dja::plugins
