// http: an existing web service as the user base. One plugin type serves
// the families whose URLs are set (config.hpp): auth.* by the convention
// of Prosody's mod_auth_http and MongooseIM's http auth (convention.hpp),
// roster.get / roster.load_item by the JSON of Prosody's
// mod_http_roster_admin, and vcard-temp gets (XEP-0054) by an XML URL.
//
// The plugin is one event-based actor that never blocks: each hook call
// becomes a request to the plugin's libcurl thread (client.hpp) and a
// response promise, delivered when `done` comes back. A service that is
// down, slow (request_timeout_ms) or answers garbage is an error reply:
// the core answers <temporary-auth-failure/> or <internal-server-error/>,
// never a wrong password and never an accept.
//
// Passwords are only checkable, so the vhost offers SASL PLAIN only (over
// TLS; decided and logged at start by the server).

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/stored_xml.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/scope.hpp"
#include "plugins/http/config.hpp"
#include "plugins/http/convention.hpp"
#include "plugins/http/refresh_endpoint.hpp"
#include "plugins/http/roster.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins {

namespace {

using hooks::account_result;
using hooks::answer;
using docs::reply_t;
using http::response;

/// timer -> plugin: fetch the online users' rosters again.
using refresh_atom = caf::atom_constant<caf::atom("httprefr")>;

struct http_state {
  static inline const char* name = "http";
  http::config cfg;
  plugins::scope scope;
  std::unique_ptr<http::client> client;
  uint64_t next_id = 0;
  /// What to do with each answer still owed by the client thread.
  std::unordered_map<uint64_t, std::function<void(const response&)>> owed;
  http::online_rosters online;
  std::unique_ptr<http::refresh_endpoint> endpoint; ///< refresh_listen
  vcard::avatar_cache avatars; ///< XEP-0153 hashes (vcard_url)
};

using http_actor = caf::stateful_actor<http_state>;

/// Sends `req`; `then` runs in this actor with the response.
void fetch(http_actor* self, http::request req,
           std::function<void(const response&)> then) {
  auto& st = self->state;
  auto id = ++st.next_id;
  st.owed.emplace(id, std::move(then));
  st.client->submit(id, std::move(req), caf::actor_cast<caf::actor>(self));
}

/// A hook call answered by `interpret(response)`; an error is logged
/// (the operation and what went wrong, never the URL: it may hold a
/// password) and replied as an error.
template <class T, class F>
caf::result<answer<T>> ask(http_actor* self, const char* op,
                           http::request req, F interpret) {
  auto rp = self->make_response_promise<answer<T>>();
  fetch(self, std::move(req), [self, rp, op, interpret](const response& r) {
    caf::expected<answer<T>> v = interpret(r);
    auto p = rp; // deliver() is not const
    if (v)
      p.deliver(std::move(*v));
    else
      p.deliver(self->state.scope.failed(op, v.error()));
  });
  return rp;
}

http::request auth_get(const http::config& c, const char* path,
                       const jid& user, const std::string* pass) {
  return {c.auth_url + "/" + path + "?"
            + http::auth_params(user.local(), user.domain(), pass),
          false, {}, {}};
}

http::request auth_post(const http::config& c, const char* path,
                        const jid& user, const std::string* pass) {
  return {c.auth_url + "/" + path, true,
          http::auth_params(user.local(), user.domain(), pass),
          "application/x-www-form-urlencoded"};
}

caf::result<answer<account_result>>
account_call(http_actor* self, const char* op, const jid& user,
             const std::string* pass) {
  auto& c = self->state.cfg;
  if (!self->state.scope.ours(user))
    return answer<account_result>::decline();
  return ask<account_result>(
    self, op, auth_post(c, op, user, pass),
    [self, op, user](const response& r) {
      auto v = http::account_answer(r);
      if (v && !v->declined && v->value == account_result::done)
        spdlog::info("{}: {} of {} done by the service",
                     self->state.cfg.tag, op, user.local());
      return v;
    });
}

caf::result<answer<hooks::roster>> get_roster(http_actor* self,
                                              const jid& user) {
  auto& st = self->state;
  if (!st.scope.ours(user))
    return answer<hooks::roster>::decline();
  return ask<hooks::roster>(
    self, "roster", {http::expand(st.cfg.roster_url, user.local())},
    [self, user](const response& r) -> caf::expected<answer<hooks::roster>> {
      auto ro = http::roster_of(self->state.cfg, r);
      if (!ro)
        return ro.error();
      self->state.online.given(user.local(), *ro);
      return answer<hooks::roster>::handled(std::move(*ro));
    });
}

/// The vCard in `resp`: nullptr when the service has none (404), an
/// error for anything but one <vCard xmlns='vcard-temp'/> in a 200.
caf::expected<xml::element_ptr> vcard_of(const response& resp) {
  if (resp.error.empty() && resp.status == 404)
    return xml::element_ptr{};
  if (!resp.error.empty() || resp.status != 200)
    return caf::make_error(caf::sec::runtime_error,
                           resp.error.empty()
                             ? "unexpected HTTP status "
                                 + std::to_string(resp.status)
                             : resp.error);
  auto v = xml::parse_stored(resp.body);
  if (v == nullptr || v->name != "vCard" || v->ns != vcard::ns_vcard)
    return caf::make_error(caf::sec::runtime_error,
                           "the body is not one <vCard "
                           "xmlns='vcard-temp'/> element");
  return v;
}

caf::result<reply_t> get_vcard(http_actor* self,
                               const hooks::iq_request& r) {
  auto& st = self->state;
  if (r.to.domain() != st.scope.domain)
    return reply_t::decline();
  auto q = r.stanza->first_element();
  if (q == nullptr || q->name != "vCard" || q->ns != vcard::ns_vcard)
    return docs::error(r, "bad-request");
  if (r.to.local().empty())
    return docs::error(r, "item-not-found");
  auto stanza = r.stanza;
  return ask<xml::element_ptr>(
    self, "vcard", {http::expand(st.cfg.vcard_url, r.to.local())},
    [stanza](const response& resp) -> caf::expected<reply_t> {
      auto v = vcard_of(resp);
      if (!v)
        return v.error();
      auto reply = std::make_shared<xml::element>(errors::iq_result(*stanza));
      // No profile (404): an empty vCard (XEP-0054 §3.1).
      reply->add_child(*v ? **v : xml::element{"vCard", vcard::ns_vcard});
      return reply_t::handled(reply);
    });
}

/// presence.alter_available (XEP-0153 §3.2): the photo hash of the
/// user's vCard at the service, fetched at her first available presence
/// (and again after her sessions closed); a failure leaves the presence
/// unchanged.
caf::result<hooks::presence_alter_available::answer_type>
alter_available(http_actor* self, const hooks::presence_alter_available& r) {
  using verdict_t = hooks::presence_alter_available::answer_type;
  auto& st = self->state;
  bool needed = false;
  auto known = st.avatars.alter(
    r, st.scope.domain,
    [&needed](const std::string&) -> caf::expected<xml::element_ptr> {
      needed = true; // not cached: fetched below
      return caf::make_error(caf::sec::runtime_error, "not cached");
    });
  if (!needed)
    return known;
  auto rp = self->make_response_promise<verdict_t>();
  fetch(self, {http::expand(st.cfg.vcard_url, r.user.local())},
        [self, rp, r](const response& resp) {
          auto v = vcard_of(resp);
          auto& st = self->state;
          if (!v)
            st.scope.failed("vcard (avatar hash)", v.error());
          auto p = rp;
          p.deliver(st.avatars.alter(
            r, st.scope.domain,
            [&v](const std::string&) -> caf::expected<xml::element_ptr> {
              return v;
            }));
        });
  return rp;
}

/// Fetches the rosters of those of `users` who are online and pushes
/// what changed to their sessions (RFC 6121 §2.1.6).
void refresh(http_actor* self, const std::vector<std::string>& users) {
  auto& st = self->state;
  if (st.cfg.roster_url.empty())
    return;
  for (auto& user : users) {
    if (!st.online.is_online(user))
      continue; // fetched afresh at her next login anyway
    fetch(self, {http::expand(st.cfg.roster_url, user)},
          [self, user](const response& r) {
            auto& st = self->state;
            auto ro = http::roster_of(st.cfg, r);
            if (!ro) {
              spdlog::warn("{}: roster refresh of {}: {}", st.cfg.tag, user,
                           caf::to_string(ro.error()));
              return;
            }
            auto n = st.online.push_changes(user, *ro);
            if (n > 0)
              spdlog::info("{}: roster of {} changed at the service: {} "
                           "push(es)", st.cfg.tag, user, n);
          });
  }
}

/// cache.invalidate: the service's data of `n.scope` changed. Nothing of
/// the answers is kept but the avatar hashes (forgotten: the next
/// available presence announces the service's photo) and the rosters the
/// online clients were given: fetched again, what changed pushed.
void invalidate(http_actor* self, const hooks::cache_invalidate& n) {
  auto& st = self->state;
  if (n.scope.domain() != st.scope.domain)
    return;
  std::vector<std::string> users;
  if (n.everyone()) {
    st.avatars.forget_all();
    users = st.online.users();
  } else {
    st.avatars.forget(n.scope.local());
    users.push_back(n.scope.local());
  }
  spdlog::info("{}: cache invalidated for {}: {} online user(s) to "
               "refresh",
               st.cfg.tag, n.everyone() ? "every user" : n.scope.local(),
               std::count_if(users.begin(), users.end(),
                             [&](auto& u) { return st.online.is_online(u); }));
  refresh(self, users);
}

caf::behavior http_plugin(http_actor* self, http::config cfg) {
  auto& st = self->state;
  st.scope = {cfg.domain, "http"};
  st.client = std::make_unique<http::client>(cfg.client);
  st.cfg = std::move(cfg);
  if (st.cfg.roster_refresh.count() > 0 && !st.cfg.roster_url.empty())
    self->delayed_send(self, st.cfg.roster_refresh, refresh_atom::value);
  if (!st.cfg.refresh_listen.empty() && !st.cfg.roster_url.empty()) {
    auto ep = http::refresh_endpoint::start(
      st.cfg.refresh_listen, st.cfg.refresh_basic_auth,
      caf::actor_cast<caf::actor>(self), st.cfg.tag);
    if (ep)
      st.endpoint = std::move(*ep);
    else
      spdlog::error("{}: no refresh endpoint: {}", st.cfg.tag,
                    caf::to_string(ep.error()));
  }
  auto ours = [self](const jid& u) { return self->state.scope.ours(u); };
  return {
    [=](http::done& d) {
      auto& owed = self->state.owed;
      auto i = owed.find(d.id);
      if (i == owed.end())
        return;
      auto then = std::move(i->second);
      owed.erase(i);
      then(d.r);
    },
    [=](const hooks::auth_check_password& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return ask<bool>(self, "check_password",
                       auth_get(self->state.cfg, "check_password", r.user,
                                &r.password),
                       http::boolean_answer);
    },
    [=](const hooks::auth_user_exists& r) -> caf::result<answer<bool>> {
      if (!ours(r.user))
        return answer<bool>::decline();
      return ask<bool>(
        self, "user_exists",
        auth_get(self->state.cfg, "user_exists", r.user, nullptr),
        [](const response& resp) -> caf::expected<answer<bool>> {
          auto v = http::boolean_answer(resp);
          if (v && !v->declined && !v->value)
            return answer<bool>::decline(); // another plugin may know her
          return v;
        });
    },
    [=](const hooks::auth_set_password& r) {
      return account_call(self, "set_password", r.user, &r.password);
    },
    [=](const hooks::auth_register& r) {
      return account_call(self, "register", r.user, &r.password);
    },
    [=](const hooks::auth_remove_user& r) {
      return account_call(self, "remove_user", r.user, nullptr);
    },
    [=](const hooks::roster_get& r) { return get_roster(self, r.user); },
    [=](const hooks::roster_load_item& r)
      -> caf::result<answer<std::vector<hooks::roster_item>>> {
      using result = answer<std::vector<hooks::roster_item>>;
      if (!ours(r.user))
        return result::decline();
      auto contact = r.contact.bare();
      return ask<std::vector<hooks::roster_item>>(
        self, "roster",
        {http::expand(self->state.cfg.roster_url, r.user.local())},
        [self, contact](const response& resp) -> caf::expected<result> {
          auto ro = http::roster_of(self->state.cfg, resp);
          if (!ro)
            return ro.error();
          std::vector<hooks::roster_item> out;
          for (auto& it : ro->items)
            if (it.contact == contact)
              out.push_back(it);
          return result::handled(std::move(out));
        });
    },
    [=](const hooks::session_bound& n) {
      if (ours(n.full))
        self->state.online.bound(n.full, n.session);
    },
    [=](const hooks::session_closed& n) {
      if (!ours(n.full))
        return;
      auto& st = self->state;
      st.online.closed(n.full);
      // The next login announces the photo the service has then.
      st.avatars.forget(n.full.local());
    },
    [=](const hooks::presence_alter_available& r) {
      return alter_available(self, r);
    },
    [=](const http::refresh_users& m) {
      refresh(self, m.users);
    },
    [=](const hooks::cache_invalidate& n) { invalidate(self, n); },
    [=](refresh_atom) {
      refresh(self, self->state.online.users());
      self->delayed_send(self, self->state.cfg.roster_refresh,
                         refresh_atom::value);
    },
    [=](const hooks::iq_request& r) { return get_vcard(self, r); },
  };
}

} // namespace


DJA_PLUGIN(http) {
  return {
    "http",
    "an existing web service's users (the mod_auth_http / MongooseIM "
    "convention), rosters (mod_http_roster_admin JSON) and vCards",
    http::options(),
    [](const toml::table& opts) { return http::describe(opts); },
    [](const spawn_context& ctx) {
      auto cfg = http::configure(ctx);
      spdlog::info("{}: auth {}, rosters {}, vCards {}; logins: PLAIN only "
                   "(passwords are only checkable at the service)",
                   cfg.tag, cfg.auth_url.empty() ? "no" : cfg.auth_url,
                   cfg.roster_url.empty() ? "no" : cfg.roster_url,
                   cfg.vcard_url.empty() ? "no" : cfg.vcard_url);
      return ctx.sys.spawn(http_plugin, std::move(cfg));
    },
  };
}

} // namespace dja::plugins
