#pragma once

// One XML document per (account, key), the storage of vcard.* (key "",
// the vCard), private.* (key "{namespace}name", XEP-0049) and last (key
// "", the status of the last logout): the interface the feature actors
// (plugins/vcard/serve.hpp, plugins/private/serve.hpp, plugins/last)
// use, and the three stores behind it:
//
//  - memory (plugins/common/docs/memory.cpp): lost on restart;
//  - SQLite (plugins/common/sqlite/doc_store.hpp has the schema), a file
//    under server.data_dir chosen by the `file` option;
//  - PostgreSQL (plugins/common/pgsql/doc_store.hpp), the `dsn` options.
//
// A store serves one vhost (its domain is fixed at creation). The SQLite
// and PostgreSQL calls block: their feature actor is spawned detached.
// Failures are caf::error values carrying the database's message.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "common/xml.hpp"

#include "hooks/plugin.hpp"

namespace dja::plugins::docs {

/// One stored document.
struct doc {
  bool found = false;
  std::string value;
  int64_t updated = 0; ///< unix time of the last write
};

/// (key, value) pairs written together.
using doc_list = std::vector<std::pair<std::string, std::string>>;

class store {
public:
  virtual ~store() = default;

  /// Opens or connects (and migrates) on the actor's own thread, once at
  /// start-up; an error is logged by the caller and later calls try
  /// again.
  virtual caf::error start() = 0;

  /// Whether the calls block (the actor must then be detached).
  virtual bool blocking() const = 0;

  virtual caf::expected<doc> get(const std::string& user,
                                 const std::string& key) = 0;

  /// Writes (inserts or replaces) all `docs` of `user` at once: all of
  /// them or none.
  virtual caf::error put(const std::string& user, const doc_list& docs,
                         int64_t updated) = 0;

  /// Removes one document; no error when there was none.
  virtual caf::error remove(const std::string& user,
                            const std::string& key) = 0;

  /// The size in bytes of each stored document of `user`, by key (for a
  /// quota).
  virtual caf::expected<std::map<std::string, int64_t>>
  sizes(const std::string& user) = 0;
};

/// A store in memory (lost when the plugin stops).
std::shared_ptr<store> memory_store();

/// The SQLite store of the plugin `tag` in `ctx.data_dir` / the `file`
/// option (default `default_file`), table `table` (a fixed identifier).
std::shared_ptr<store> sqlite_store(const spawn_context& ctx,
                                    const char* tag,
                                    const std::string& default_file,
                                    const std::string& table);

/// The PostgreSQL store of the plugin `tag` (the `dsn` and
/// `query_timeout_ms` options), table `table`.
std::shared_ptr<store> pgsql_store(const spawn_context& ctx,
                                   const char* tag, const std::string& table);

/// The `file` option of a SQLite store followed by `own`.
std::vector<option_spec> sqlite_options(const std::string& default_file,
                                        std::vector<option_spec> own);

/// The current unix time (the `updated` of a write).
int64_t unix_now();

/// Starts `st` on its actor's thread; logs when it cannot (every request
/// then fails until it can).
void start(store& st, const std::string& tag, const std::string& domain);

/// Logs a storage failure of `op` and returns the error replied to the
/// vhost (which answers <internal-server-error/>).
caf::error failed(const std::string& tag, const std::string& domain,
                  const char* op, const caf::error& err);

/// The stored document `d` of `user` as XML (nullptr: none stored); a
/// value that does not parse is a failure of `op`, logged.
caf::expected<xml::element_ptr> parsed(const caf::expected<doc>& d,
                                       const std::string& tag,
                                       const std::string& domain,
                                       const char* op,
                                       const std::string& user);

/// Spawns `fn(self, args...)`, detached when `st` blocks.
template <class F, class... Ts>
caf::actor spawn(const spawn_context& ctx, const store& st, F fn,
                 Ts&&... args) {
  if (st.blocking())
    return ctx.sys.spawn<caf::detached>(fn, std::forward<Ts>(args)...);
  return ctx.sys.spawn(fn, std::forward<Ts>(args)...);
}

} // namespace dja::plugins::docs
