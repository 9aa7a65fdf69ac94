#pragma once

// The hook catalogue: every hook a plugin can serve, in one place. Each
// request struct below is the one declaration of its hook: its name, its
// kind (actors/hooks/hook.hpp), its answer type, what its caller gets
// when every plugin declines or one fails (`settle`, the fallback), and,
// at the end of the file, its line in the list of hooks from which the
// vhost's handlers, the hook ids and the CAF message registration come.
// docs/hooks.md is the same catalogue for plugin authors; a test
// (tests/hooks/catalogue_test.cpp) keeps the two in step.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "common/jid.hpp"
#include "common/roster_item.hpp"
#include "common/scram_credentials.hpp"
#include "common/server_context.hpp"
#include "common/xml.hpp"
#include "hooks/hook.hpp"

namespace dja::hooks {

// --- auth -------------------------------------------------------------------

/// `auth.check_password` (first). Is `password` right for `user`?
/// handled(true): accepted; handled(false): wrong password or no such
/// user. Default (all decline): rejected (SASL <not-authorized/>).
/// Error or timeout: SASL <temporary-auth-failure/>; never an accept.
struct auth_check_password {
  static constexpr const char* name = "auth.check_password";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: rejected; an error stays an error.
  static caf::expected<bool> settle(const auth_check_password&,
                                    outcome<bool> r) {
    return value_or<bool>(std::move(r), false);
  }
  jid user; ///< bare JID: local part and vhost domain
  std::string password;
  std::string remote_addr; ///< for plugins that throttle; never logged
};

/// `auth.user_exists` (first). Does this account exist?
/// handled(bool). Default: false.
struct auth_user_exists {
  static constexpr const char* name = "auth.user_exists";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: no such user; an error stays an error.
  static caf::expected<bool> settle(const auth_user_exists&, outcome<bool> r) {
    return value_or<bool>(std::move(r), false);
  }
  jid user;
};

/// Stored SCRAM credentials (common/scram_credentials.hpp).
using scram_credentials = scram::credentials;


/// `auth.get_scram` (first). The SCRAM credentials of `user` for `hash`
/// ("SHA-1" or "SHA-256"), so no plaintext password is ever needed.
/// handled(creds): creds.found tells whether the user exists.
/// Default: no such user (the exchange fails with <not-authorized/>
/// without telling the client whether the user exists). Error or timeout:
/// <temporary-auth-failure/>.
struct auth_get_scram {
  static constexpr const char* name = "auth.get_scram";
  using answer_type = answer<scram_credentials>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: no such user; an error stays an error.
  static caf::expected<scram_credentials> settle(const auth_get_scram&,
                                                 outcome<scram_credentials> r) {
    return value_or<scram_credentials>(std::move(r), scram_credentials{});
  }
  jid user;
  std::string hash;
};

/// The outcome of an account change.
enum class account_result : uint8_t {
  done,
  conflict,    ///< the user exists already (register)
  not_found,   ///< no such user (set_password, remove)
  not_allowed, ///< the store refuses (read-only, policy)
};

/// `auth.register` (first). Create an account (XEP-0077 in-band
/// registration, the admin command). handled(result). Default:
/// not_allowed. Error: <internal-server-error/>.
struct auth_register {
  static constexpr const char* name = "auth.register";
  using answer_type = answer<account_result>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: not allowed; an error stays an error.
  static caf::expected<account_result> settle(const auth_register&,
                                              outcome<account_result> r) {
    return value_or<account_result>(std::move(r), account_result::not_allowed);
  }
  jid user;
  std::string password;
};

/// `auth.set_password` (first). Change a password (XEP-0077 §3.3, admin
/// command). handled(result). Default: not_allowed.
struct auth_set_password {
  static constexpr const char* name = "auth.set_password";
  using answer_type = answer<account_result>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: not allowed; an error stays an error.
  static caf::expected<account_result> settle(const auth_set_password&,
                                              outcome<account_result> r) {
    return value_or<account_result>(std::move(r), account_result::not_allowed);
  }
  jid user;
  std::string password;
};

/// `auth.remove_user` (first). Delete an account. handled(result).
/// Default: not_allowed.
struct auth_remove_user {
  static constexpr const char* name = "auth.remove_user";
  using answer_type = answer<account_result>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: not allowed; an error stays an error.
  static caf::expected<account_result> settle(const auth_remove_user&,
                                              outcome<account_result> r) {
    return value_or<account_result>(std::move(r), account_result::not_allowed);
  }
  jid user;
};

/// `auth.list_users` (first). The accounts of the vhost (admin command).
/// handled(names): local parts. Default: empty.
struct auth_list_users {
  static constexpr const char* name = "auth.list_users";
  using answer_type = answer<std::vector<std::string>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: none; an error stays an error.
  static caf::expected<std::vector<std::string>>
  settle(const auth_list_users&, outcome<std::vector<std::string>> r) {
    return value_or<std::vector<std::string>>(std::move(r), {});
  }
};

// --- stanzas ----------------------------------------------------------------

/// `iq` (first, by key): an iq get/set to the server or a bare JID, for the
/// plugins that declared "get NS" / "set NS"; handled(reply): the reply
/// (result or error; the vhost fixes id/from/to), default
/// <service-unavailable/>, error <internal-server-error/>. Also a client's
/// result/error sent there ("result NS"), answering a server request: no reply.
struct iq_request {
  static constexpr const char* name = "iq";
  using answer_type = answer<xml::element_ptr>;
  static constexpr hook_kind kind = hook_kind::first;
  /// The chain: the plugins that declared this key ("TYPE NS" of the
  /// payload, TYPE get/set/result/error); no payload: no plugin.
  static std::string key(const iq_request& req);
  /// Handled: the plugin's reply, addressed per RFC 6120 §8.2.3; all
  /// declined (or a null reply): <service-unavailable/>; an error:
  /// <internal-server-error/>. Always a reply stanza, never an error.
  static xml::element_ptr settle(const iq_request& req,
                                 outcome<xml::element_ptr> r);
  xml::element_ptr stanza; ///< from already stamped
  jid from;
  jid to; ///< the server domain or a bare JID
};

/// The verdict of a filter.
struct filter_verdict {
  xml::element_ptr stanza; ///< the stanza to go on with; null = dropped
  std::string reason;      ///< why it was dropped (logged)
};

/// `filter.stanza` (fold): runs on every stanza a client sends, after
/// `from` is stamped and before routing. handled(verdict with a stanza):
/// go on with that (possibly altered) stanza; handled(verdict without
/// one): drop. Default: pass unchanged. Error or timeout: the stanza is
/// dropped and, for iq get/set, answered with <internal-server-error/>.
struct filter_stanza {
  static constexpr const char* name = "filter.stanza";
  using answer_type = answer<filter_verdict>;
  static constexpr hook_kind kind = hook_kind::fold;
  /// The fold's verdict; an error drops the stanza.
  static filter_verdict settle(const filter_stanza&,
                               caf::expected<filter_verdict> r) {
    return r ? std::move(*r) : filter_verdict{nullptr, "filter failed"};
  }
  xml::element_ptr stanza;
  jid from;
};

/// What a `deliver` plugin did with a stanza.
struct delivery_verdict {
  bool taken = false;    ///< stored / forwarded: nothing more to do
  std::string condition; ///< not taken: bounce with this stanza error
                         ///< (e.g. "resource-constraint" for a full
                         ///< offline store); "" = the router's default
};

/// `deliver` (first): a stanza for a local user that no bound session
/// took (user offline, resource gone): offline storage, forwarding, ...
/// handled({true}): the plugin took it; handled({false, cond}): refused,
/// the sender gets `cond`. Default: the router bounces it per RFC 6121 §8
/// (service-unavailable; errors and headlines dropped).
struct deliver {
  static constexpr const char* name = "deliver";
  using answer_type = answer<delivery_verdict>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined, or an error: not taken (the router's default bounce).
  static delivery_verdict settle(const deliver&,
                                 outcome<delivery_verdict> r) {
    return r && !r->declined ? std::move(r->value) : delivery_verdict{};
  }
  xml::element_ptr stanza;
  jid to;
};

// --- offline storage ---

/// One stored stanza and its id in the store that answered the fetch.
struct offline_message {
  int64_t id = 0; ///< for `offline.remove`; increasing in arrival order
  xml::element_ptr stanza;
};

/// `offline.fetch` (first): the stanzas stored for `user` while offline,
/// oldest first (XEP-0160: sent at the user's next available presence).
/// Two-phase: nothing is removed by the fetch; the session hands the
/// stanzas to its connection and then confirms with `offline.remove`.
/// A session that dies in between leaves them stored for the next
/// login (at-least-once). handled(list). Default: none.
struct offline_fetch {
  static constexpr const char* name = "offline.fetch";
  using answer_type = answer<std::vector<offline_message>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: none; an error stays an error.
  static caf::expected<std::vector<offline_message>>
  settle(const offline_fetch&, outcome<std::vector<offline_message>> r) {
    return value_or<std::vector<offline_message>>(std::move(r), {});
  }
  jid user;
};

/// `offline.remove` (first): the stanzas `ids` of `user` (from an
/// `offline.fetch`) were handed to the user's connection for writing;
/// forget them. Ids not stored (any more) are ignored. The plugin that
/// answered the fetch for this user answers this too (same decline
/// rules). handled(true). Default: false (logged by the session).
struct offline_remove {
  static constexpr const char* name = "offline.remove";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: not removed; an error stays an error.
  static caf::expected<bool> settle(const offline_remove&, outcome<bool> r) {
    return value_or<bool>(std::move(r), false);
  }
  jid user;
  std::vector<int64_t> ids;
};

// --- rosters (RFC 6121 §2, §3; DJabberd's Roster* hooks) ---

/// A roster item and a roster (common/roster_item.hpp): values the
/// router, the sessions and the roster stores share.
using dja::roster;
using dja::roster_item;

/// `roster.get` (first, RosterGet). handled(roster). Default: an empty
/// roster. Error: <internal-server-error/>.
struct roster_get {
  static constexpr const char* name = "roster.get";
  using answer_type = answer<roster>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: an empty roster; an error stays an error.
  static caf::expected<roster> settle(const roster_get&, outcome<roster> r) {
    return value_or<roster>(std::move(r), roster{});
  }
  jid user;
};

/// `roster.load_item` (first, RosterLoadItem). handled(items): the item
/// for `contact`, or an empty vector when there is none.
struct roster_load_item {
  static constexpr const char* name = "roster.load_item";
  using answer_type = answer<std::vector<roster_item>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: no item; an error stays an error.
  static caf::expected<std::vector<roster_item>>
  settle(const roster_load_item&, outcome<std::vector<roster_item>> r) {
    return value_or<std::vector<roster_item>>(std::move(r), {});
  }
  jid user;
  jid contact;
};

/// `roster.set_item` (first, RosterAddUpdateItem / RosterSetItem): add
/// or replace the item of `item.contact`. handled(version): the roster's
/// new version. Default: not stored (<internal-server-error/>).
struct roster_set_item {
  static constexpr const char* name = "roster.set_item";
  using answer_type = answer<std::string>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: an error (nothing stores it).
  static caf::expected<std::string> settle(const roster_set_item&,
                                           outcome<std::string> r) {
    return value_or_error(std::move(r), name);
  }
  jid user;
  roster_item item;
};

/// `roster.remove_item` (first, RosterRemoveItem). handled(version).
struct roster_remove_item {
  static constexpr const char* name = "roster.remove_item";
  using answer_type = answer<std::string>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: an error (nothing stores it).
  static caf::expected<std::string> settle(const roster_remove_item&,
                                           outcome<std::string> r) {
    return value_or_error(std::move(r), name);
  }
  jid user;
  jid contact;
};

/// `roster.wipe` (first, RosterWipe): the account is gone. handled(true).
struct roster_wipe {
  static constexpr const char* name = "roster.wipe";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: nothing wiped; an error stays an error.
  static caf::expected<bool> settle(const roster_wipe&, outcome<bool> r) {
    return value_or<bool>(std::move(r), false);
  }
  jid user;
};

// --- presence (RFC 6121 §4; DJabberd's PresenceCheck, AlterPresence*,
// OnInitialPresence) ---

/// `presence.check` (first, PresenceCheck): `prober` probes `contact`
/// (RFC 6121 §4.3: a user's initial presence, or a probe arriving for a
/// local user), so that plugins can report presence known elsewhere (an
/// external system, a gateway). Asked of the contact's vhost when the
/// contact's domain is served here, else of the prober's. handled(list):
/// presence stanzas delivered to the prober as if they came from the
/// contact (`from` is forced to the contact's JID, with the resource the
/// plugin gave, and `to` to the prober), in addition to the router's own
/// answer (the contact's available local resources, if subscribed); for
/// a contact in a domain not served here, a handled answer also replaces
/// the router's <remote-server-not-found/>. Default: the router's answer
/// only. Error or timeout: as the default (logged). Only asked when some
/// plugin of the vhost serves it (vhost_info::serves).
struct presence_check {
  static constexpr const char* name = "presence.check";
  using answer_type = answer<std::vector<xml::element_ptr>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// The whole answer: the router must tell "declined" (its default)
  /// from "handled, nothing to report". An error counts as declined.
  static answer_type settle(const presence_check&,
                            outcome<std::vector<xml::element_ptr>> r) {
    return r ? std::move(*r) : answer_type::decline();
  }
  jid prober;  ///< who asks (full JID of a local session, or a bare JID)
  jid contact; ///< bare JID probed
};

/// `presence.alter_available` (fold, AlterPresenceAvailable): a user's
/// available presence broadcast (no `to`), `from` stamped, before it
/// goes to her own resources and her contacts and is kept for probes.
/// handled(verdict with a stanza): go on with that one (e.g. with an
/// element added, XEP-0153); handled(verdict without one): not broadcast
/// (the resource still becomes available for delivery). Default: pass
/// unchanged. Error or timeout: broadcast unchanged (logged). Only run
/// when some plugin serves it (vhost_info::serves); the
/// session handles nothing else of its client until the fold answers.
struct presence_alter_available {
  static constexpr const char* name = "presence.alter_available";
  using answer_type = answer<filter_verdict>;
  static constexpr hook_kind kind = hook_kind::fold;
  /// An error: broadcast unchanged (a broken decorator must not make a
  /// user invisible).
  static filter_verdict settle(const presence_alter_available& req,
                               caf::expected<filter_verdict> r) {
    return r ? std::move(*r) : filter_verdict{req.stanza, {}};
  }
  xml::element_ptr stanza;
  jid user; ///< full JID of the session
};

/// `presence.alter_unavailable` (fold, AlterPresenceUnavailable): as
/// `presence.alter_available` for an unavailable broadcast, the explicit
/// one and the one the server sends when a session ends without it.
/// Dropped: the contacts are not told.
struct presence_alter_unavailable {
  static constexpr const char* name = "presence.alter_unavailable";
  using answer_type = answer<filter_verdict>;
  static constexpr hook_kind kind = hook_kind::fold;
  /// An error: broadcast unchanged (a broken decorator must not make a
  /// user invisible).
  static filter_verdict settle(const presence_alter_unavailable& req,
                               caf::expected<filter_verdict> r) {
    return r ? std::move(*r) : filter_verdict{req.stanza, {}};
  }
  xml::element_ptr stanza;
  jid user;
};

/// `presence.initial` (notify, OnInitialPresence): a session sent its
/// initial presence (RFC 6121 §4.2), as broadcast (after the alter fold;
/// the client's own when a plugin dropped it).
struct presence_initial {
  static constexpr const char* name = "presence.initial";
  static constexpr hook_kind kind = hook_kind::notify;
  jid full;
  xml::element_ptr stanza;
};

// --- blocking (XEP-0191) ---------------------------------------------------
//
// Items are prepared JIDs as strings (jid::str()); the matching rules are
// common/blocklist.hpp. The session keeps the user's list (loaded with
// blocking.list when it starts) and enforces it on every stanza without a
// hook call; blocking.check is for what happens without the user's
// session (subscriptions, probes, iqs the server answers for the user).

/// `blocking.list` (first): the JIDs `user` blocks, sorted.
/// handled(items). Default: none (nothing is blocked). Error: the
/// session logs it and blocks nothing; a blocklist get is answered
/// <internal-server-error/>.
struct blocking_list {
  static constexpr const char* name = "blocking.list";
  using answer_type = answer<std::vector<std::string>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: nothing blocked; an error stays an error.
  static caf::expected<std::vector<std::string>>
  settle(const blocking_list&, outcome<std::vector<std::string>> r) {
    return value_or<std::vector<std::string>>(std::move(r), {});
  }
  jid user; ///< bare
};

/// `blocking.block` (first): add `items` to the list of `user` (stored
/// before the answer). handled(true). Default: not stored
/// (<internal-server-error/>).
struct blocking_block {
  static constexpr const char* name = "blocking.block";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: an error (nothing stores it).
  static caf::expected<bool> settle(const blocking_block&, outcome<bool> r) {
    return value_or_error(std::move(r), name);
  }
  jid user;
  std::vector<std::string> items;
};

/// `blocking.unblock` (first): remove `items` from the list of `user`,
/// or every item when `items` is empty (XEP-0191 §3.5).
/// handled(removed): the items that were on the list. Default: not
/// stored (<internal-server-error/>).
struct blocking_unblock {
  static constexpr const char* name = "blocking.unblock";
  using answer_type = answer<std::vector<std::string>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: an error (nothing stores it).
  static caf::expected<std::vector<std::string>>
  settle(const blocking_unblock&, outcome<std::vector<std::string>> r) {
    return value_or_error(std::move(r), name);
  }
  jid user;
  std::vector<std::string> items; ///< empty: all
};

/// `blocking.check` (first): does `user` block `contact`?
/// handled(bool). Default: false. Asked by the router for inbound
/// subscriptions and probes, and by a session for an iq to another
/// user's bare JID; the caller drops the stanza on an error (it would
/// have been dropped silently if blocked, so nothing leaks).
struct blocking_check {
  static constexpr const char* name = "blocking.check";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: not blocked; an error stays an error.
  static caf::expected<bool> settle(const blocking_check&, outcome<bool> r) {
    return value_or<bool>(std::move(r), false);
  }
  jid user; ///< bare
  jid contact;
};

// --- connections and sessions -----------------------------------------------

/// `connection.accepted` (first): a client opened a stream to this vhost.
/// handled(false): refuse (stream error <policy-violation/>);
/// handled(true): accept. Default: accept. Error or timeout: refuse.
struct connection_accepted {
  static constexpr const char* name = "connection.accepted";
  using answer_type = answer<bool>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: accepted; an error: refused (fail closed).
  static bool settle(const connection_accepted&, outcome<bool> r) {
    return r && (r->declined || r->value);
  }
  std::string remote_addr;
  uint16_t remote_port = 0;
};

/// `session.bound` (notify): a resource was bound.
struct session_bound {
  static constexpr const char* name = "session.bound";
  static constexpr hook_kind kind = hook_kind::notify;
  jid full;
  caf::actor session;
  std::string remote_addr;
};

/// `session.closed` (notify): a bound session ended.
struct session_closed {
  static constexpr const char* name = "session.closed";
  static constexpr hook_kind kind = hook_kind::notify;
  jid full;
  std::string reason;
  /// The <status/> text of the session's last unavailable presence, if
  /// it sent one and did not become available again (XEP-0012 §4).
  std::string status = {};
};


// --- message archives (XEP-0313, XEP-0359) -----------------------------------

/// `archive.store` (notify): a message the router is delivering, for the
/// archive of its sender and/or recipient (local users of a vhost some
/// plugin of which serves this hook). Sent by the router shard of the
/// recipient (actors/router/archive.cpp) before delivery, to the vhost of
/// each side; a plugin takes the side(s) of its own domain. The archive
/// id is also the XEP-0359 <stanza-id/> the recipient's copy carries
/// (by = the recipient's bare JID), so offline storage and the archive
/// agree. Only messages XEP-0313 §5.1 archives come here (chat or normal
/// with a body, or a XEP-0334 <store/> hint; never with <no-store/> or
/// <no-permanent-store/>); what the user's preferences exclude is the
/// plugin's business. Nobody waits: a plugin batches its writes.
struct archive_store {
  static constexpr const char* name = "archive.store";
  static constexpr hook_kind kind = hook_kind::notify;
  xml::element_ptr stanza; ///< as routed, without our <stanza-id/>
  jid from;                ///< the sender (full JID of a local session)
  jid to;                  ///< the recipient as addressed
  std::string from_id;     ///< id in the sender's archive; "" = not kept
  std::string to_id;       ///< id in the recipient's archive; "" = not kept
  int64_t stamp_us = 0;    ///< when it was routed (unix time, µs)
  /// The recipient has a session bound here: no need to ask whether the
  /// account exists.
  bool to_bound = false;
};

/// `archive.query` (first): an iq get/set in urn:xmpp:mam:2 (XEP-0313:
/// a query, the query form, archive metadata, preferences) from the
/// session `from` to the archive `to` (a bare JID; the session's own
/// when the iq had no `to`). handled(stanzas): what goes to the client
/// in order, the <result/> messages then the iq reply (result or
/// error). Default: <service-unavailable/>. Error or timeout:
/// <internal-server-error/> (by the session).
struct archive_query {
  static constexpr const char* name = "archive.query";
  using answer_type = answer<std::vector<xml::element_ptr>>;
  static constexpr hook_kind kind = hook_kind::first;
  /// All declined: the iq answered <service-unavailable/>; an error
  /// stays an error.
  static caf::expected<std::vector<xml::element_ptr>>
  settle(const archive_query& req, outcome<std::vector<xml::element_ptr>> r);
  xml::element_ptr stanza; ///< the iq, `from` stamped
  jid from;
  jid to;
};
// --- push notifications (XEP-0357) -----------------------------------------

/// `push.wake` (notify): a message reached a local account whose client
/// may be asleep: a session detached by XEP-0198 (waiting for <resume/>)
/// or inactive by XEP-0352 (`to` = its full JID; actors/session/push.cpp),
/// or offline storage took it (`to` = the bare JID; actors/router/push.cpp).
/// Sent to the vhost of `to` only when some plugin of it serves the hook.
/// The plugin decides whether the stanza is worth a notification, finds
/// the app servers the account registered (XEP-0357 §5), throttles, and
/// routes its <iq type='set'/> (from the bare JID) through `router`.
struct push_wake {
  static constexpr const char* name = "push.wake";
  static constexpr hook_kind kind = hook_kind::notify;
  xml::element_ptr stanza; ///< the message as delivered
  jid to;                  ///< full: a session's; bare: stored offline
  router_ref router;       ///< where msg::route goes (any JID's shard)
};

// --- caches of outside sources (`djabberd-actors ctl invalidate`) ---------

/// `cache.invalidate` (notify): the user data a plugin keeps from a
/// source outside the server (a site's database, a web service, a
/// directory) may be stale for `scope`, which changed there: forget it,
/// then read the rosters of the affected users who are online again and
/// push what changed to their sessions (RFC 6121 §2.1.6), as the
/// plugin's own refresh does. `scope` is one user's bare JID, or the
/// vhost's domain (no local part): every user of the vhost. Sent by the
/// control channel (actors/control) to the vhosts concerned.
struct cache_invalidate {
  static constexpr const char* name = "cache.invalidate";
  static constexpr hook_kind kind = hook_kind::notify;
  jid scope;

  /// Every user of the vhost, not one.
  bool everyone() const {
    return scope.local().empty();
  }
  /// Is `local` (a local part of this vhost) concerned?
  bool concerns(const std::string& local) const {
    return everyone() || scope.local() == local;
  }
};

// --- presence from outside the vhost ----------------------------------------

/// `presence.received` (notify): an available or unavailable presence
/// from a JID that is not a session of this vhost on this node — a
/// contact on another vhost of this server or on a remote server
/// (router/router.cpp, RFC 6121 §8.5 delivery), or a resource bound on
/// another node of the cluster (cluster/node_delivery.cpp) — was
/// delivered to the local user `to` (the JID it was addressed to). Sent
/// to the vhost of `to`, only when some plugin of it serves the hook.
/// The sessions of the vhost itself are followed with
/// `session.bound` and the `presence.alter_*` folds instead. PEP learns
/// the XEP-0115 caps of such contacts from it (XEP-0163 §4.3.5) and
/// routes its notifications to them through `router`.
struct presence_received {
  static constexpr const char* name = "presence.received";
  static constexpr hook_kind kind = hook_kind::notify;
  xml::element_ptr stanza; ///< as delivered
  jid from;                ///< the contact (usually a full JID)
  jid to;                  ///< the local user, bare or full
  router_ref router;       ///< where msg::route goes (any JID's shard)
};

// --- service domains (XEP-0045 MUC, XEP-0114 components) -------------------

/// `domain.stanza` (notify): a stanza addressed to a service domain —
/// the domain itself or any JID at it — from anyone (a local session,
/// another service, a federated server, a cluster node). A vhost some
/// plugin of which serves this hook is a service domain
/// (vhost_info::is_service): the router, the sessions and the s2s
/// streams hand it every stanza for the domain instead of the accounts'
/// paths, and the plugin answers all of it, its own disco#info included.
/// What it sends goes out through the router (spawn_context::router),
/// with a `from` at its domain. Nobody waits: an iq is answered by the
/// plugin's own stanza.
struct domain_stanza {
  static constexpr const char* name = "domain.stanza";
  static constexpr hook_kind kind = hook_kind::notify;
  xml::element_ptr stanza; ///< `from` and `to` stamped
  jid from;
  jid to;
};

// Disco features, identities and stream features are not hook calls: a
// plugin declares them in its manifest (actors/hooks/plugin.hpp) and the
// vhost answers from that.

} // namespace dja::hooks

// --- the list of hooks -----------------------------------------------------

/// Every hook, one line each. A hook's position is its id; the vhost has
/// one handler per line (actors/vhost/vhost.cpp); CAF may pass the
/// request in a message. A new hook: its struct above, its line here, its
/// row in docs/hooks.md.
#define DJA_HOOK_LIST(X)                                                       \
  X(auth_check_password)                                                       \
  X(auth_user_exists)                                                          \
  X(auth_get_scram)                                                            \
  X(auth_register)                                                             \
  X(auth_set_password)                                                         \
  X(auth_remove_user)                                                          \
  X(auth_list_users)                                                           \
  X(iq_request)                                                                \
  X(filter_stanza)                                                             \
  X(deliver)                                                                   \
  X(offline_fetch)                                                             \
  X(offline_remove)                                                            \
  X(roster_get)                                                                \
  X(roster_load_item)                                                          \
  X(roster_set_item)                                                           \
  X(roster_remove_item)                                                        \
  X(roster_wipe)                                                               \
  X(presence_check)                                                            \
  X(presence_alter_available)                                                  \
  X(presence_alter_unavailable)                                                \
  X(presence_initial)                                                          \
  X(blocking_list)                                                             \
  X(blocking_block)                                                            \
  X(blocking_unblock)                                                          \
  X(blocking_check)                                                            \
  X(connection_accepted)                                                       \
  X(session_bound)                                                             \
  X(session_closed)                                                            \
  X(archive_store)                                                             \
  X(archive_query)                                                             \
  X(cache_invalidate)                                                          \
  X(domain_stanza)                                                             \
  X(presence_received)                                                         \
  X(push_wake)

#define DJA_HOOK_ALLOW_UNSAFE(h) CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::h)
DJA_HOOK_LIST(DJA_HOOK_ALLOW_UNSAFE)
#undef DJA_HOOK_ALLOW_UNSAFE

namespace dja::hooks {

template <class... Hooks>
struct list {};

namespace detail {

template <class List>
struct drop_first;

template <class T, class... Ts>
struct drop_first<list<T, Ts...>> {
  using type = list<Ts...>;
};

template <class T, class... Ts>
constexpr size_t index_in(list<Ts...>) {
  size_t i = 0;
  bool found = false;
  ((found = found || std::is_same<T, Ts>::value, i += found ? 0 : 1), ...);
  return i;
}

} // namespace detail

#define DJA_HOOK_TYPE(h) , h
/// Every hook type, in the order of DJA_HOOK_LIST.
using all = detail::drop_first<list<void DJA_HOOK_LIST(DJA_HOOK_TYPE)>>::type;
#undef DJA_HOOK_TYPE

template <class... Hooks>
constexpr size_t size(list<Hooks...>) {
  return sizeof...(Hooks);
}

/// How many hooks there are.
constexpr size_t count = size(all{});
static_assert(count <= 64, "vhost_info::served holds 64 hooks");

/// The position of `Hook` in the list (declared in
/// common/server_context.hpp, which knows no hook).
template <class Hook>
struct index {
  static constexpr size_t value = detail::index_in<Hook>(all{});
  static_assert(value < count, "not a hook of the catalogue");
};

/// The id of a hook, for manifests: `hooks::id<hooks::roster_get>`.
template <class Hook>
constexpr hook_id id{static_cast<uint8_t>(index<Hook>::value)};

/// Its name (`auth.check_password`) and kind.
const char* name_of(hook_id h);
hook_kind kind_of(hook_id h);

/// The hook of this name, if any (for names read from a configuration).
std::optional<hook_id> find(std::string_view name);

/// Every hook name, comma-separated (for "one of ..." in errors).
std::string names();

} // namespace dja::hooks

// Value types that travel as replies of the vhost.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::scram_credentials)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::account_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::filter_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::delivery_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::offline_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::hooks::offline_message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::xml::element_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::hooks::roster_item>)
