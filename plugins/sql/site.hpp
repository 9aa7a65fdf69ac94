#pragma once

// The work of one `sql` worker (plugins/sql/sql.cpp runs `pool_size` of
// them, each detached with its own connection): the operator's queries
// with their values bound, the password checks, the roster folded from
// roster rows and shared groups, the vCard from its template. Every call
// blocks (database, bcrypt, argon2), which is why the workers are detached
// and never run on the scheduler's threads. A database failure is a
// caf::error, so the core answers temporary-auth-failure or
// internal-server-error, never a wrong password.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "common/xml.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/common/online_rosters.hpp"
#include "plugins/common/ttl_cache.hpp"
#include "plugins/sql/config.hpp"

namespace dja::plugins::sql {

/// Rows of the read queries, by (query, values), shared by the workers
/// of one plugin: found rows for cache_ttl, no rows for negative_ttl.
using row_cache = ttl_cache<rows>;

/// What the workers of one plugin share.
struct shared_state {
  config cfg;
  row_cache cache;
  std::mutex logged_mtx;
  std::set<std::string> logged; ///< unknown password forms already logged

  /// The online users and the roster each was last given, for the
  /// pushes of roster_refresh_s and cache.invalidate.
  std::mutex online_mtx;
  online_rosters online;

  /// How many cache.invalidate notices came (to one worker of the
  /// pool): a worker that saw fewer forgets its own avatar hashes.
  std::atomic<uint64_t> invalidations{0};
};

class site {
public:
  explicit site(std::shared_ptr<shared_state> st);

  const config& cfg() const {
    return st_->cfg;
  }

  /// Is `password` right for `user`? nullopt: no such user.
  caf::expected<std::optional<bool>> check_password(const std::string& user,
                                                    const std::string& pw);

  /// SCRAM credentials of `user` for `hash` (found = false: no such user
  /// or no credentials for that hash).
  caf::expected<hooks::scram_credentials> scram(const std::string& user,
                                                const std::string& hash);

  caf::expected<bool> exists(const std::string& user);

  /// Runs a write query (set_password, register, remove_user) for `user`
  /// (and `password`, put in the stored form); the rows it changed.
  caf::expected<int64_t> write(const query& q, const std::string& user,
                               const std::string& password = {});

  caf::expected<std::vector<std::string>> list_users();

  /// The roster of `user` (`fresh`: read past the cache).
  caf::expected<hooks::roster> roster(const std::string& user,
                                      bool fresh = false);

  /// Reads the rosters of those of `users` who are online again (past
  /// the cache) and pushes what changed to their sessions (RFC 6121
  /// §2.1.6); failures are logged.
  void refresh_rosters(const std::vector<std::string>& users);

  /// The local parts online.
  std::vector<std::string> online_users();

  /// cache.invalidate: drops the cached rows (all of them: one row can
  /// be in several users' answers, a friendship in both friends'
  /// rosters) and refreshes the rosters of the users of `n` online.
  void invalidate(const hooks::cache_invalidate& n);

  /// The presence stanzas of `user` from presence_sql, for `prober`
  /// (a bare JID), who must be in her roster with a subscription to her
  /// presence (RFC 6121 §4.3.2: only subscribers learn it); none
  /// otherwise.
  caf::expected<std::vector<xml::element_ptr>>
  presence(const std::string& user, const jid& prober);

  /// The vCard of `user`; nullptr: none.
  caf::expected<xml::element_ptr> vcard(const std::string& user);

private:
  /// Runs `q` with the values of its placeholders, through the cache
  /// when `cached`.
  caf::expected<rows> run(const query& q, const std::string& user,
                          const std::string& password = {},
                          const std::string& group = {},
                          bool cached = true);

  /// Logs an unknown stored form once per plugin.
  void log_unknown(const std::string& form);

  std::shared_ptr<shared_state> st_;
  std::unique_ptr<connection> conn_;
};

} // namespace dja::plugins::sql
