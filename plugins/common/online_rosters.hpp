#pragma once

// The online users of a plugin whose rosters live outside the server (a
// site's database, a web service, a directory), with the roster each
// one's clients were given: the base of the roster pushes (RFC 6121
// §2.1.6) when the outside source changed, found by the plugin's own
// polling (`roster_refresh_s`), a refresh request (http's
// `refresh_listen`) or `djabberd-actors ctl invalidate`
// (`cache.invalidate`). Fed by `session.bound` / `session.closed`. Not
// thread-safe: one actor's, or behind the plugin's own mutex.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "common/jid.hpp"
#include "common/roster_item.hpp"

namespace dja::plugins {

class online_rosters {
public:
  void bound(const jid& full, caf::actor session);
  void closed(const jid& full);
  bool is_online(const std::string& user) const;

  /// The local parts online.
  std::vector<std::string> users() const;

  /// `r` was read while she is online; the first such read is taken as
  /// what her client has.
  void given(const std::string& user, const roster& r);

  /// Pushes the items of `now` that differ from what she was given and
  /// removals of those gone, to each of her sessions; returns how many
  /// pushes per session (0 when nothing changed or she is offline).
  size_t push_changes(const std::string& user, const roster& now);

  /// The refresh of the plugins whose workers share one online_rosters
  /// behind `mtx` (sql, ldap): reads the roster of each of `users` still
  /// online with `read` (past any cache), pushes what changed and logs it
  /// with `tag`; returns how many users' rosters changed. A read that
  /// fails is logged and skipped (she keeps what she has).
  using read_fn = std::function<caf::expected<roster>(const std::string&)>;
  static size_t refresh(std::mutex& mtx, online_rosters& online,
                        const std::vector<std::string>& users,
                        const read_fn& read, const std::string& tag);

private:
  std::map<std::string, std::map<std::string, caf::actor>> sessions_;
  std::map<std::string, roster> given_;
};

} // namespace dja::plugins
