#pragma once

// The work of one `ldap` worker (plugins/ldap/ldap.cpp runs `pool_size`
// of them, each detached with its own connections): users found by
// search or by their DN template, passwords checked by binding as the
// user (RFC 4513 §5.1.3), vCards from their attributes, shared roster
// groups from group entries. Every call blocks on the directory, bounded
// by query_timeout_ms. A failure is a caf::error, so the core answers
// temporary-auth-failure or internal-server-error, never a wrong
// password.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "common/xml.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/common/online_rosters.hpp"
#include "plugins/common/ttl_cache.hpp"
#include "plugins/ldap/config.hpp"
#include "plugins/ldap/directory.hpp"

namespace dja::plugins::ldap {

/// What the workers of one plugin share: the configuration and the
/// search results cached for cache_ttl / negative_ttl (binds never).
struct shared_state {
  config cfg;
  ttl_cache<entries> cache;
  /// The online users and the roster each was given, for the pushes of
  /// cache.invalidate (`djabberd-actors ctl invalidate`).
  std::mutex online_mtx;
  online_rosters online;
  /// cache.invalidate notices so far (each worker forgets its avatar
  /// hashes when it sees the number grow).
  std::atomic<uint64_t> invalidations{0};
};

class site {
public:
  explicit site(std::shared_ptr<shared_state> st);

  const config& cfg() const {
    return st_->cfg;
  }

  /// Is `password` right for `user`? nullopt: no such user (search mode;
  /// with a DN template a missing user is a wrong password).
  caf::expected<std::optional<bool>> check_password(const std::string& user,
                                                    const std::string& pw);

  caf::expected<bool> exists(const std::string& user);

  caf::expected<std::vector<std::string>> list_users();

  /// The vCard of `user`; nullptr: no such user.
  caf::expected<xml::element_ptr> vcard(const std::string& user);

  /// The shared groups of `user` as her roster.
  caf::expected<hooks::roster> roster(const std::string& user);

private:
  /// The entry of `user` with `attrs`; nullopt: none (or several: an
  /// ambiguous filter logs and finds nobody).
  caf::expected<std::optional<entry>>
  find_user(const std::string& user, const std::vector<std::string>& attrs);

  /// A search through the cache.
  caf::expected<entries> search(const std::string& base, scope s,
                                const std::string& filter,
                                const std::vector<std::string>& attrs);

  /// The user name of a group member value (a DN or, with memberUid, the
  /// name itself); nullopt when it names no user.
  caf::expected<std::optional<std::string>>
  member_name(const std::string& value);

  std::shared_ptr<shared_state> st_;
  directory dir_;
};

} // namespace dja::plugins::ldap
