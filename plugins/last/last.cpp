// last: XEP-0012 Last Activity. To the server domain: the server's uptime
// (§5). To a user's bare JID: 0 while the user has a bound session, else
// the seconds since the last session ended (§4), learned from the
// session.bound / session.closed notifications. Kept in a document store
// (plugins/common/docs/store.hpp, table `last_activity`, key "", value the
// status, updated the time): in memory, or in an SQLite database with the
// `file` option (then the actor is detached, as SQLite calls block).
// Who may ask is the `visibility` option; XEP-0012
// wants presence subscribers only, which needs the roster (see README).

#include <chrono>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/docs/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using docs::error;
using docs::reply_t;

constexpr const char* tag = "last";
constexpr const char* ns_last = "jabber:iq:last";

/// When the server process started (static initialization).
const auto process_start = std::chrono::steady_clock::now();

reply_t result(const hooks::iq_request& r, int64_t seconds,
               const std::string& status) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& q = reply->add_child(xml::element{"query", ns_last});
  q.set_attr("seconds", std::to_string(seconds < 0 ? 0 : seconds));
  if (!status.empty())
    q.add_text(status);
  return reply_t::handled(reply);
}

struct last_state {
  static inline const char* name = "last";

  std::string domain;
  bool vhost_visible = false; ///< visibility = "vhost"
  caf::actor vhost;
  /// Bound sessions per local part.
  std::unordered_map<std::string, int> online;
  /// The last logout per local part.
  std::shared_ptr<docs::store> db;

  void logout(const std::string& user, const std::string& status) {
    if (auto err = db->put(user, {{"", status}}, docs::unix_now()))
      docs::failed(tag, domain, "record logout", err);
  }
};

using last_actor = caf::stateful_actor<last_state>;

using allowed_atom = caf::atom_constant<caf::atom("allowed")>;

caf::result<reply_t> answer_allowed(last_actor* self,
                                    const hooks::iq_request& r, bool own);

caf::result<reply_t> get_last(last_actor* self, const hooks::iq_request& r) {
  auto& st = self->state;
  auto q = r.stanza->first_element();
  if (q == nullptr || q->name != "query" || q->ns != ns_last)
    return error(r, "bad-request");
  if (r.to.local().empty()) { // §5: the server's uptime
    auto up = std::chrono::steady_clock::now() - process_start;
    return result(r,
                  std::chrono::duration_cast<std::chrono::seconds>(up).count(),
                  "");
  }
  // §4: only who may see the user's presence: the user herself, her
  // contacts with a subscription to her presence (roster), and with
  // visibility = "vhost" the users of this vhost.
  bool own = docs::own(r);
  bool allowed = own
                 || (st.vhost_visible && !r.from.local().empty()
                     && r.from.domain() == st.domain);
  if (!allowed) {
    if (!st.vhost || r.from.local().empty())
      return error(r, "forbidden");
    auto rp = self->make_response_promise<reply_t>();
    self
      ->request(st.vhost, std::chrono::seconds(10),
                hooks::roster_load_item{r.to, r.from.bare()})
      .then(
        [self, rp, r](std::vector<hooks::roster_item>& items) mutable {
          bool sub = !items.empty()
                     && items.front().subscribed_from();
          if (!sub) {
            rp.deliver(error(r, "forbidden"));
            return;
          }
          rp.delegate(caf::actor_cast<caf::actor>(self), allowed_atom::value,
                      r);
        },
        [rp, r](caf::error&) mutable { rp.deliver(error(r, "forbidden")); });
    return rp;
  }
  return answer_allowed(self, r, own);
}

caf::result<reply_t> answer_allowed(last_actor* self,
                                    const hooks::iq_request& r, bool own) {
  auto& st = self->state;
  if (auto i = st.online.find(r.to.local()); i != st.online.end())
    return result(r, 0, ""); // online now
  auto d = st.db->get(r.to.local(), "");
  if (!d)
    return docs::failed(tag, st.domain, "lookup", d.error());
  if (d->found)
    return result(r, docs::unix_now() - d->updated, d->value);
  // Never seen: no activity known for an existing account
  // (<item-not-found/>); no such account: <service-unavailable/>, as for
  // any iq to it (RFC 6121 §8.5.1).
  if (own || !st.vhost)
    return error(r, "item-not-found");
  auto rp = self->make_response_promise<reply_t>();
  self->request(st.vhost, std::chrono::seconds(10),
                hooks::auth_user_exists{r.to})
    .then(
      [rp, r](bool exists) mutable {
        rp.deliver(error(r, exists ? "item-not-found" : "service-unavailable"));
      },
      [rp, self](caf::error& err) mutable {
        rp.deliver(
          docs::failed(tag, self->state.domain, "user_exists", err));
      });
  return rp;
}

caf::behavior last(last_actor* self, std::string domain,
                   std::shared_ptr<docs::store> db, bool vhost_visible,
                   caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.vhost_visible = vhost_visible;
  st.vhost = std::move(vhost);
  docs::start(*st.db, tag, st.domain);
  return {
    [self](const hooks::iq_request& r) -> caf::result<reply_t> {
      if (r.to.domain() != self->state.domain)
        return reply_t::decline();
      return get_last(self, r);
    },
    [self](allowed_atom, const hooks::iq_request& r) -> caf::result<reply_t> {
      return answer_allowed(self, r, false);
    },
    [self](const hooks::session_bound& n) {
      if (n.full.domain() == self->state.domain)
        ++self->state.online[n.full.local()];
    },
    [self](const hooks::session_closed& n) {
      auto& st = self->state;
      if (n.full.domain() != st.domain)
        return;
      auto i = st.online.find(n.full.local());
      if (i != st.online.end() && --i->second > 0)
        return; // another resource is still bound
      if (i != st.online.end())
        st.online.erase(i);
      // §4: the text is the status of the last unavailable presence.
      st.logout(n.full.local(), n.status);
    },
  };
}

} // namespace

DJA_PLUGIN(last) {
  return {
    "last",
    "XEP-0012 Last Activity: server uptime, users' last logout",
    {{"file", option_type::string, false,
      "SQLite database for the logout times, relative to server.data_dir "
      "(default: none, kept in memory)"},
     {"visibility", option_type::string, false,
      "who may ask a user's last activity: \"self\" (default) or \"vhost\" "
      "(any user of this vhost), until the roster decides"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::session_bound>,
                       hooks::id<hooks::session_closed>},
                      {std::string{"get "} + ns_last},
                      {ns_last},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto db = ctx.options["file"].value<std::string>()
                  ? docs::sqlite_store(ctx, tag, "", "last_activity")
                  : docs::memory_store();
      auto vis = ctx.options["visibility"].value_or(std::string{"self"});
      if (vis != "self" && vis != "vhost") {
        spdlog::warn("last: vhost {}: visibility = \"{}\" is neither "
                     "\"self\" nor \"vhost\"; using \"self\"", ctx.domain,
                     vis);
        vis = "self";
      }
      return docs::spawn(ctx, *db, last, ctx.domain, db, vis == "vhost",
                         ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins
