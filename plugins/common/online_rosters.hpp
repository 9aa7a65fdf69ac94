#pragma once

// The online users of a plugin whose rosters live outside the server (a
// site's database, a web service, a directory), with the roster each
// one's clients were given: the base of the roster pushes (RFC 6121
// §2.1.6) when the outside source changed, found by the plugin's own
// polling (`roster_refresh_s`), a refresh request (http's
// `refresh_listen`) or `djabberd-actors ctl invalidate`
// (`cache.invalidate`). Fed by `session.bound` / `session.closed`. Not
// thread-safe: one actor's, or behind the plugin's own mutex.

#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>

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

private:
  std::map<std::string, std::map<std::string, caf::actor>> sessions_;
  std::map<std::string, roster> given_;
};

} // namespace dja::plugins
