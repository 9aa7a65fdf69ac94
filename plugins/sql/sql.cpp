// sql: an existing site's user base, served by the operator's own SQL
// queries on SQLite, PostgreSQL or MariaDB/MySQL. One plugin type serves
// several hook families, depending on which queries are set (config.cpp,
// describe()): auth.* (password_sql / check_password_sql, ...), roster.get
// and roster.load_item (roster_sql, shared groups), vcard-temp gets
// (XEP-0054) with XEP-0153 avatar hashes (vcard_sql), presence.check
// (presence_sql: the site's own idea of who is online). Read-only by
// default: a write hook is served only when its query is set.
//
// The plugin is an actor pool of `pool_size` detached workers, each with
// its own connection (site.hpp): database calls and slow hashes (bcrypt,
// argon2) never run on the scheduler's threads, and one slow login does
// not hold the others. The pool hands requests round-robin; each worker
// answers the request itself. A database failure is an error reply: the
// core answers <temporary-auth-failure/> or <internal-server-error/>,
// never a wrong password.

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
#include "plugins/sql/config.hpp"
#include "plugins/sql/site.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins {

namespace {

using hooks::account_result;
using hooks::answer;
using docs::reply_t;
using strings = std::vector<std::string>;

/// timer -> pool: read the online users' rosters again (roster_refresh_s).
using refresh_atom = caf::atom_constant<caf::atom("sqlrefresh")>;

struct worker_state {
  static inline const char* name = "sql";
  std::unique_ptr<sql::site> db;
  plugins::scope scope;
  vcard::avatar_cache avatars;
  uint64_t invalidations = 0; ///< shared_state::invalidations seen
};

using worker_actor = caf::stateful_actor<worker_state>;

/// The outcome of a write for the hook (`otherwise` when no row changed).
caf::result<answer<account_result>>
account_write(worker_actor* self, const char* op, const jid& user,
              const caf::expected<int64_t>& changed,
              account_result otherwise, const char* done) {
  auto& st = self->state;
  if (!changed)
    return st.scope.failed(op, changed.error());
  if (*changed > 0)
    spdlog::info("{}: vhost {}: account {} {}", st.scope.tag,
                 st.scope.domain, user.local(), done);
  return answer<account_result>::handled(*changed > 0 ? account_result::done
                                                      : otherwise);
}

caf::result<reply_t> get_vcard(worker_actor* self,
                               const hooks::iq_request& r) {
  auto& st = self->state;
  if (auto refused = userbase::vcard_get_refusal(r, st.scope.domain))
    return std::move(*refused);
  auto v = st.db->vcard(r.to.local());
  if (!v)
    return st.scope.failed("vcard", v.error());
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  if (*v) {
    reply->add_child(**v);
    return reply_t::handled(reply);
  }
  // No row: an empty vCard for an account that exists (XEP-0054 §3.1),
  // <service-unavailable/> for no such account (RFC 6121 §8.5.1).
  auto found = st.db->exists(r.to.local());
  if (!found)
    return st.scope.failed("user_exists", found.error());
  if (!*found && !docs::own(r))
    return docs::error(r, "service-unavailable");
  reply->add_child(xml::element{"vCard", vcard::ns_vcard});
  return reply_t::handled(reply);
}

caf::behavior worker(worker_actor* self,
                     std::shared_ptr<sql::shared_state> shared) {
  auto& st = self->state;
  st.scope = {shared->cfg.domain, "sql"};
  st.db = std::make_unique<sql::site>(shared);
  auto ours = [self](const jid& user) { return self->state.scope.ours(user); };
  return {
    [=](const hooks::auth_check_password& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return userbase::password(
        self->state.scope,
        self->state.db->check_password(r.user.local(), r.password));
    },
    [=](const hooks::auth_get_scram& r)
      -> caf::result<answer<hooks::scram_credentials>> {
      using result = answer<hooks::scram_credentials>;
      if (!ours(r.user))
        return result::decline();
      auto creds = self->state.db->scram(r.user.local(), r.hash);
      if (!creds)
        return self->state.scope.failed("get_scram", creds.error());
      if (!creds->found)
        return result::decline();
      return result::handled(std::move(*creds));
    },
    [=](const hooks::auth_user_exists& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return userbase::exists(self->state.scope,
                              self->state.db->exists(r.user.local()));
    },
    [=](const hooks::auth_set_password& r)
      -> caf::result<answer<account_result>> {
      auto& q = self->state.db->cfg().q.set_password;
      if (!ours(r.user) || q.empty())
        return answer<account_result>::decline();
      return account_write(self, "set_password", r.user,
                           self->state.db->write(q, r.user.local(),
                                                 r.password),
                           account_result::not_found,
                           "changed its password");
    },
    [=](const hooks::auth_register& r)
      -> caf::result<answer<account_result>> {
      auto& db = *self->state.db;
      if (!ours(r.user) || db.cfg().q.register_user.empty())
        return answer<account_result>::decline();
      auto found = db.exists(r.user.local());
      if (!found)
        return self->state.scope.failed("register", found.error());
      if (*found)
        return answer<account_result>::handled(account_result::conflict);
      return account_write(self, "register", r.user,
                           db.write(db.cfg().q.register_user, r.user.local(),
                                    r.password),
                           account_result::conflict, "created");
    },
    [=](const hooks::auth_remove_user& r)
      -> caf::result<answer<account_result>> {
      auto& q = self->state.db->cfg().q.remove_user;
      if (!ours(r.user) || q.empty())
        return answer<account_result>::decline();
      return account_write(self, "remove_user", r.user,
                           self->state.db->write(q, r.user.local()),
                           account_result::not_found, "removed");
    },
    [=](const hooks::auth_list_users&) -> caf::result<answer<strings>> {
      return userbase::users(self->state.scope, self->state.db->list_users());
    },
    [=](const hooks::roster_get& r) -> caf::result<answer<hooks::roster>> {
      if (!ours(r.user))
        return answer<hooks::roster>::decline();
      auto roster = self->state.db->roster(r.user.local());
      if (!roster)
        return self->state.scope.failed("roster", roster.error());
      {
        // What her client has: the base of the next refresh's pushes
        // (the first read while she is online, online_rosters.hpp).
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
    [=](refresh_atom) {
      auto& db = *self->state.db;
      db.refresh_rosters(db.online_users());
    },
    [=](const hooks::cache_invalidate& n) {
      if (n.scope.domain() != shared->cfg.domain)
        return;
      ++shared->invalidations; // every worker's avatar hashes
      self->state.db->invalidate(n);
    },
    [=](const hooks::roster_load_item& r)
      -> caf::result<answer<std::vector<hooks::roster_item>>> {
      if (!ours(r.user))
        return answer<std::vector<hooks::roster_item>>::decline();
      return userbase::load_item(self->state.scope,
                                 self->state.db->roster(r.user.local()),
                                 r.contact);
    },
    [=](const hooks::iq_request& r) { return get_vcard(self, r); },
    [=](const hooks::presence_check& r) {
      using result = hooks::presence_check::answer_type;
      if (!ours(r.contact))
        return result::decline();
      auto ps = self->state.db->presence(r.contact.local(), r.prober);
      if (!ps) {
        self->state.scope.failed("presence", ps.error());
        return result::decline(); // the router's own answer still goes
      }
      return result::handled(std::move(*ps));
    },
    [=](const hooks::presence_alter_available& r) {
      auto& st = self->state;
      if (auto n = shared->invalidations.load(); n != st.invalidations) {
        st.avatars.forget_all(); // `ctl invalidate` since the last use
        st.invalidations = n;
      }
      return userbase::avatar(st.avatars, st.scope, r,
                              [&st](const std::string& local) {
                                return st.db->vcard(local);
                              });
    },
  };
}

/// Asks `pool` to refresh the online users' rosters every `every`; linked
/// to the pool, so it ends with it.
caf::behavior refresh_timer(caf::event_based_actor* self, caf::actor pool,
                            std::chrono::seconds every) {
  self->link_to(pool);
  self->delayed_send(self, every, refresh_atom::value);
  return {
    [=](refresh_atom) {
      self->send(pool, refresh_atom::value);
      self->delayed_send(self, every, refresh_atom::value);
    },
  };
}

/// The start-up line: what this vhost gets from the site's database.
void log_start(const sql::config& c, const manifest& m) {
  auto serves = [&](hooks::hook_id id) {
    return std::find(m.hooks.begin(), m.hooks.end(), id) != m.hooks.end();
  };
  std::string what;
  for (auto& [id, name] :
       std::vector<std::pair<hooks::hook_id, const char*>>{
         {hooks::id<hooks::auth_check_password>, "passwords"},
         {hooks::id<hooks::auth_set_password>, "password changes"},
         {hooks::id<hooks::auth_register>, "registration"},
         {hooks::id<hooks::roster_get>, "rosters"},
         {hooks::id<hooks::presence_alter_available>, "avatars"}})
    if (serves(id))
      what += std::string{what.empty() ? "" : ", "} + name;
  if (!m.iqs.empty())
    what += std::string{what.empty() ? "" : ", "} + "vCards";
  spdlog::info("{}: {} database {}, {} connection(s): {}; logins: {}",
               c.tag, c.driver,
               c.driver == "sqlite" ? c.conn.target : "(dsn)", c.pool_size,
               what.empty() ? "nothing (no query set)" : what,
               serves(hooks::id<hooks::auth_get_scram>)
                 ? "SCRAM (the stored form allows it) and PLAIN"
                 : "PLAIN only (the stored form cannot give SCRAM "
                   "credentials)");
}

} // namespace

DJA_PLUGIN(sql) {
  return {
    "sql",
    "an existing site's users, rosters, shared groups and vCards by the "
    "operator's SQL queries (SQLite, PostgreSQL, MariaDB/MySQL)",
    sql::options(),
    [](const toml::table& opts) { return sql::describe(opts); },
    [](const spawn_context& ctx) {
      auto shared = std::make_shared<sql::shared_state>();
      shared->cfg = sql::configure(ctx);
      auto& c = shared->cfg;
      if (c.conn.target.empty())
        spdlog::error("{}: driver {} needs `dsn`: every query will fail",
                      c.tag, c.driver);
      log_start(c, sql::describe(ctx.options));
      auto& sys = ctx.sys;
      auto pool = caf::actor_pool::make(
        sys.dummy_execution_unit(), c.pool_size,
        [&sys, shared] { return sys.spawn<caf::detached>(worker, shared); },
        caf::actor_pool::round_robin());
      if (c.roster_refresh.count() > 0
          && (!c.q.roster.empty() || !c.q.user_groups.empty()))
        sys.spawn(refresh_timer, pool, c.roster_refresh);
      return pool;
    },
  };
}

} // namespace dja::plugins
