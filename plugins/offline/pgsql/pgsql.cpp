// offline.pgsql: XEP-0160 offline messages in PostgreSQL
// (plugins/offline/pgsql/store.hpp has the schema), with the behaviour of
// offline.sqlite. Serves `deliver` (a message for a user with no session)
// and `offline.fetch` (the session takes them at the user's next available
// presence). libpq calls block: the actor is detached.
//
// storable(), utc_stamp() and parse_stored() repeat offline.sqlite's (the
// offline.fetch change in flight there is the time to share them).
//
// What is stored (XEP-0160 §3, XEP-0334, XEP-0085):
//  - <message/> of type normal or chat (no type, or a type we do not know,
//    counts as normal: RFC 6121 §5.2.2); error, groupchat and headline are
//    declined (the router applies RFC 6121 §8.5.2: errors and headlines
//    are dropped, groupchat bounced);
//  - not with a <no-store xmlns='urn:xmpp:hints'/> hint (XEP-0334 §4.1);
//  - with a <store/> hint (XEP-0334 §4.4) always; otherwise only with
//    content: a child element other than chat states (XEP-0085 says
//    standalone notifications are not stored offline), hints and <thread/>;
//  - for a user that exists (asked of the vhost: auth.user_exists);
//    declined otherwise (the router bounces <service-unavailable/>).
// A stored stanza gets an XEP-0203 <delay from='DOMAIN' stamp='...Z'/>.
//
// A full store (`max_messages`): handled({false, "service-unavailable"}):
// XEP-0160 §2 step 3 — if the server cannot store the message "(e.g.,
// because the recipient's offline message queue is full), the server
// returns a <service-unavailable/> error to the sender". (RFC 6120's
// <resource-constraint/> is a wait-type error, which would invite the
// sender to retry a queue that only the recipient can empty.)
//
// Durability: "taken" is answered only after the row is committed.
// offline.fetch deletes what it returns in the same
// transaction: if the session that fetched dies before writing the
// stanzas out, they are lost (the same as a stanza lost on a dying TCP
// connection; XEP-0198 acks belong to the session).

#include <chrono>
#include <ctime>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/stream_parser.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/offline/pgsql/store.hpp"
#include "plugins/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using hooks::delivery_verdict;
using pgsql_offline::store;

constexpr const char* ns_hints = "urn:xmpp:hints";
constexpr const char* ns_chatstates = "http://jabber.org/protocol/chatstates";
constexpr const char* ns_delay = "urn:xmpp:delay";
constexpr int64_t default_max_messages = 100;
/// How long to wait for auth.user_exists (below the vhost's default
/// 5 s plugin timeout, so a slow auth plugin is reported as such).
constexpr auto user_check_timeout = std::chrono::seconds(3);
/// The largest stored stanza we parse back.
constexpr size_t max_stored_stanza = 16 * 1024 * 1024;

/// Should this stanza be kept for an offline user (see the top comment)?
bool storable(const xml::element& s) {
  if (s.name != "message")
    return false;
  auto type = s.attr_or("type", "normal");
  if (type == "error" || type == "groupchat" || type == "headline")
    return false;
  if (s.child("no-store", ns_hints) != nullptr)
    return false;
  if (s.child("store", ns_hints) != nullptr)
    return true;
  for (auto c : s.elements()) {
    if (c->ns == ns_chatstates || c->ns == ns_hints)
      continue;
    if (c->name == "thread" && c->ns == s.ns)
      continue;
    return true; // <body/>, <subject/> or any payload
  }
  return false;
}

/// Now as an XEP-0082 DateTime in UTC: 2024-05-01T12:34:56Z.
std::string utc_stamp() {
  auto t = std::chrono::system_clock::to_time_t(
    std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Parses one stored stanza back (nullptr if it does not parse).
xml::element_ptr parse_stored(const std::string& text) {
  static const std::string open =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";
  xml::stream_parser p{max_stored_stanza};
  std::vector<xml::stream_event> evs;
  auto in = open + text;
  if (p.feed(in.data(), in.size(), evs) != xml::parse_error::none
      || evs.size() != 2 || evs[1].kind != xml::stream_event::stanza)
    return nullptr;
  return evs[1].elem;
}

struct offline_state {
  static inline const char* name = "offline.pgsql";

  std::string domain;
  int64_t max_messages = default_max_messages;
  caf::actor vhost;
  std::unique_ptr<store> db;

  /// The store; it reconnects by itself (an error while the database
  /// is down).
  caf::expected<store*> open() {
    return db.get();
  }

  /// Logs a failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("offline.pgsql: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"offline.pgsql: "} + op + " failed");
  }

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Stores `stanza` for `user` (who exists).
  caf::expected<answer<delivery_verdict>> keep(const jid& user,
                                               const xml::element& stanza) {
    auto db = open();
    if (!db)
      return db.error();
    xml::element copy = stanza;
    xml::element delay{"delay", ns_delay};
    delay.set_attr("from", domain);
    delay.set_attr("stamp", utc_stamp());
    copy.add_child(std::move(delay));
    auto added = (*db)->add(domain, user.local(), xml::to_string(copy),
                            max_messages);
    if (!added)
      return failed("store", added.error());
    if (!*added) {
      spdlog::info("offline.pgsql: vhost {}: the store of {} is full ({} "
                   "messages); bouncing", domain, user.local(),
                   max_messages);
      return answer<delivery_verdict>::handled({false, "service-unavailable"});
    }
    return answer<delivery_verdict>::handled({true, {}});
  }
};

using offline_actor = caf::stateful_actor<offline_state>;

caf::behavior offline_pgsql(offline_actor* self, std::string domain,
                            pgsql::settings cfg, int64_t max_messages,
                            caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.max_messages = max_messages;
  st.vhost = std::move(vhost);
  st.db = std::make_unique<store>(std::move(cfg));
  if (auto err = st.db->connect())
    spdlog::error("offline.pgsql: vhost {}: every request fails until the "
                  "database can be reached", st.domain);
  return {
    [self](const hooks::deliver& r)
      -> caf::result<answer<delivery_verdict>> {
      using result = answer<delivery_verdict>;
      auto& st = self->state;
      if (!r.stanza || !st.ours(r.to) || !storable(*r.stanza))
        return result::decline();
      if (!st.vhost)
        return st.failed("deliver",
                         caf::make_error(caf::sec::invalid_argument,
                                         "no vhost to ask auth.user_exists"));
      auto rp = self->make_response_promise<result>();
      auto user = r.to.bare();
      auto stanza = r.stanza;
      // await: later deliveries wait until this one is decided, so stanzas
      // are stored in the order they came.
      self->request(st.vhost, user_check_timeout, hooks::auth_user_exists{user})
        .await(
          [self, rp, user, stanza](bool exists) mutable {
            if (!exists) {
              rp.deliver(result::decline());
              return;
            }
            auto res = self->state.keep(user, *stanza);
            if (res)
              rp.deliver(std::move(*res));
            else
              rp.deliver(res.error());
          },
          [self, rp](caf::error& err) mutable {
            rp.deliver(self->state.failed("deliver: auth.user_exists", err));
          });
      return rp;
    },
    [self](const hooks::offline_fetch& r)
      -> caf::result<answer<std::vector<xml::element_ptr>>> {
      using result = answer<std::vector<xml::element_ptr>>;
      auto& st = self->state;
      if (!st.ours(r.user))
        return result::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto rows = (*db)->take(st.domain, r.user.local());
      if (!rows)
        return st.failed("fetch", rows.error());
      std::vector<xml::element_ptr> out;
      out.reserve(rows->size());
      for (auto& row : *rows) {
        if (auto e = parse_stored(row.stanza))
          out.push_back(std::move(e));
        else
          spdlog::error("offline.pgsql: vhost {}: dropping a stored stanza "
                        "for {} that does not parse", st.domain,
                        r.user.local());
      }
      if (!out.empty())
        spdlog::debug("offline.pgsql: vhost {}: {} stanzas for {}",
                      st.domain, out.size(), r.user.local());
      return result::handled(std::move(out));
    },
  };
}

} // namespace

plugin_type offline_pgsql_type() {
  return {
    "offline.pgsql",
    "XEP-0160 offline messages in PostgreSQL",
    pgsql::options(
      {{"max_messages", option_type::integer, false,
        "stanzas kept per user; more are bounced with "
        "<service-unavailable/> (default 100, 0 = no limit)"}}),
    [](const toml::table&) {
      return manifest{{hooks::deliver::name, hooks::offline_fetch::name},
                      {},
                      {"msgoffline"},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto max = ctx.options["max_messages"].value_or(default_max_messages);
      if (max < 0) {
        spdlog::warn("offline.pgsql: vhost {}: max_messages = {} is "
                     "negative; using {}", ctx.domain, max,
                     default_max_messages);
        max = default_max_messages;
      }
      return ctx.sys.spawn<caf::detached>(
        offline_pgsql, ctx.domain, pgsql::settings_of(ctx, "offline.pgsql"),
        max, ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins
