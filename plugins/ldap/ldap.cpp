// ldap: a directory as the user base (OpenLDAP, 389 DS, Active
// Directory...), over libldap. One plugin type serves the families it has
// settings for (config.hpp, describe()): auth.check_password /
// user_exists / list_users by binding as the user (search-then-bind or a
// DN template; RFC 4513 §5.1.3), vcard-temp gets (XEP-0054) mapped from
// the user's attributes with XEP-0153 avatar hashes in her presence, and
// roster.get / roster.load_item from the directory's groups (shared
// roster groups: members see each other with subscription both). The
// directory is read-only here: write hooks go to the next plugin.
//
// libldap's calls block, so the plugin is an actor pool of `pool_size`
// detached workers, each with its own connections (site.hpp): no actor
// thread of the scheduler waits on the directory, and another vhost's
// plugin has its own pool. A directory that is down or slow
// (query_timeout_ms) is an error reply: the core answers
// <temporary-auth-failure/> or <internal-server-error/>, never a wrong
// password; the next call connects again.
//
// Passwords are only checkable by a bind, so the vhost offers SASL PLAIN
// only (over TLS), decided by the server and logged at start here.

#include <memory>

#include <caf/actor_pool.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/scope.hpp"
#include "plugins/common/userbase.hpp"
#include "plugins/ldap/config.hpp"
#include "plugins/ldap/site.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using docs::reply_t;
using strings = std::vector<std::string>;

struct ldap_worker_state {
  static inline const char* name = "ldap";
  std::unique_ptr<ldap::site> dir;
  plugins::scope scope;
  vcard::avatar_cache avatars;
  uint64_t invalidations = 0; ///< shared_state::invalidations seen
};

using ldap_worker = caf::stateful_actor<ldap_worker_state>;

caf::result<reply_t> get_vcard(ldap_worker* self,
                               const hooks::iq_request& r) {
  auto& st = self->state;
  if (auto refused = userbase::vcard_get_refusal(r, st.scope.domain))
    return std::move(*refused);
  auto v = st.dir->vcard(r.to.local());
  if (!v)
    return st.scope.failed("vcard", v.error());
  // No entry: <service-unavailable/> (RFC 6121 §8.5.1), but her own
  // request gets an empty vCard (XEP-0054 §3.1).
  if (*v == nullptr && !docs::own(r))
    return docs::error(r, "service-unavailable");
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  reply->add_child(*v ? **v : xml::element{"vCard", vcard::ns_vcard});
  return reply_t::handled(reply);
}

caf::behavior worker(ldap_worker* self,
                     std::shared_ptr<ldap::shared_state> shared) {
  auto& st = self->state;
  st.scope = {shared->cfg.domain, "ldap"};
  st.dir = std::make_unique<ldap::site>(shared);
  auto ours = [self](const jid& user) { return self->state.scope.ours(user); };
  return {
    [=](const hooks::auth_check_password& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return userbase::password(
        self->state.scope,
        self->state.dir->check_password(r.user.local(), r.password));
    },
    [=](const hooks::auth_user_exists& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return userbase::exists(self->state.scope,
                              self->state.dir->exists(r.user.local()));
    },
    [=](const hooks::auth_list_users&) -> caf::result<answer<strings>> {
      return userbase::users(self->state.scope,
                             self->state.dir->list_users());
    },
    [=](const hooks::roster_get& r) -> caf::result<answer<hooks::roster>> {
      if (!ours(r.user))
        return answer<hooks::roster>::decline();
      auto roster = self->state.dir->roster(r.user.local());
      if (!roster)
        return self->state.scope.failed("roster", roster.error());
      {
        // What her client has: the base of an invalidation's pushes.
        std::lock_guard<std::mutex> guard{shared->online_mtx};
        shared->online.given(r.user.local(), *roster);
      }
      return answer<hooks::roster>::handled(std::move(*roster));
    },
    [=](const hooks::session_bound& n) {
      if (!ours(n.full))
        return;
      std::lock_guard<std::mutex> guard{shared->online_mtx};
      shared->online.bound(n.full, n.session);
    },
    [=](const hooks::session_closed& n) {
      if (!ours(n.full))
        return;
      std::lock_guard<std::mutex> guard{shared->online_mtx};
      shared->online.closed(n.full);
    },
    [=](const hooks::cache_invalidate& n) {
      if (n.scope.domain() != shared->cfg.domain)
        return;
      shared->cache.clear();
      ++shared->invalidations; // every worker's avatar hashes
      std::vector<std::string> users;
      if (n.everyone()) {
        std::lock_guard<std::mutex> guard{shared->online_mtx};
        users = shared->online.users();
      } else {
        users.push_back(n.scope.local());
      }
      spdlog::info("{}: cache invalidated for {}", shared->cfg.tag,
                   n.everyone() ? std::string{"every user"}
                                : n.scope.local());
      if (shared->cfg.group_base.empty())
        return; // no rosters from the directory
      auto& dir = *self->state.dir;
      online_rosters::refresh(
        shared->online_mtx, shared->online, users,
        [&dir](const std::string& user) { return dir.roster(user); },
        shared->cfg.tag);
    },
    [=](const hooks::roster_load_item& r)
      -> caf::result<answer<std::vector<hooks::roster_item>>> {
      if (!ours(r.user))
        return answer<std::vector<hooks::roster_item>>::decline();
      return userbase::load_item(self->state.scope,
                                 self->state.dir->roster(r.user.local()),
                                 r.contact);
    },
    [=](const hooks::iq_request& r) { return get_vcard(self, r); },
    [=](const hooks::presence_alter_available& r) {
      auto& st = self->state;
      if (auto n = shared->invalidations.load(); n != st.invalidations) {
        st.avatars.forget_all(); // `ctl invalidate` since the last use
        st.invalidations = n;
      }
      return userbase::avatar(st.avatars, st.scope, r,
                              [&st](const std::string& local) {
                                return st.dir->vcard(local);
                              });
    },
  };
}

/// The start-up line: what this vhost gets from the directory.
void log_start(const ldap::config& c) {
  std::string what = "passwords";
  if (!c.base.empty())
    what += ", user list";
  if (!c.vcard_template.empty())
    what += c.avatar_hash ? ", vCards and avatars" : ", vCards";
  if (!c.group_base.empty())
    what += ", shared groups (" + c.member_attribute + ")";
  spdlog::info("{}: directory {} ({}), {} worker(s), {}: {}; logins: PLAIN "
               "only (the directory checks passwords by bind; no SCRAM)",
               c.tag, c.conn.uri,
               c.conn.starttls                         ? "StartTLS"
               : c.conn.uri.rfind("ldaps://", 0) == 0 ? "TLS"
                                                       : "no TLS",
               c.pool_size,
               c.bind_dn_template.empty() ? "search-then-bind"
                                          : "direct bind",
               what);
}

} // namespace

DJA_PLUGIN(ldap) {
  return {
    "ldap",
    "a directory's users (bind), vCards with photos and shared roster "
    "groups over LDAP (OpenLDAP's libldap)",
    ldap::options(),
    [](const toml::table& opts) { return ldap::describe(opts); },
    [](const spawn_context& ctx) {
      auto shared = std::make_shared<ldap::shared_state>();
      shared->cfg = ldap::configure(ctx);
      log_start(shared->cfg);
      auto& sys = ctx.sys;
      return caf::actor_pool::make(
        sys.dummy_execution_unit(), shared->cfg.pool_size,
        [&sys, shared] { return sys.spawn<caf::detached>(worker, shared); },
        caf::actor_pool::round_robin());
    },
  };
}

} // namespace dja::plugins
