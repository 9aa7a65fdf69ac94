#pragma once

// The hook catalogue: every hook a plugin can serve, in one place.
// docs/hooks.md is the same catalogue for plugin authors.
//
// Three kinds, never mixed (DESIGN §3):
//  - first:  the chain ends at the first plugin that does not decline; a
//            plugin replies `answer<T>` (handled or declined) or an error.
//            When every plugin declines, the hook's default applies. Errors
//            and timeouts fail closed.
//  - fold:   every plugin may pass the value on (possibly altered) or drop
//            it; declined = pass unchanged.
//  - notify: a plain send to every plugin; nobody waits.
//
// Each request struct names its hook (`name`) and its answer type.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace dja::hooks {

/// A plugin's reply to a `first` or `fold` hook: handled (with a value) or
/// declined (pass to the next plugin). Errors travel as caf::error.
template <class T>
struct answer {
  bool declined = true;
  T value{};

  static answer decline() { return {}; }
  static answer handled(T v) { return {false, std::move(v)}; }
};

// --- auth -------------------------------------------------------------------

/// `auth.check_password` (first). Is `password` right for `user`?
/// handled(true): accepted; handled(false): wrong password or no such
/// user. Default (all decline): rejected (SASL <not-authorized/>).
/// Error or timeout: SASL <temporary-auth-failure/>; never an accept.
struct auth_check_password {
  static constexpr const char* name = "auth.check_password";
  using answer_type = answer<bool>;
  jid user; ///< bare JID: local part and vhost domain
  std::string password;
  std::string remote_addr; ///< for plugins that throttle; never logged
};

/// `auth.user_exists` (first). Does this account exist?
/// handled(bool). Default: false.
struct auth_user_exists {
  static constexpr const char* name = "auth.user_exists";
  using answer_type = answer<bool>;
  jid user;
};

/// Stored SCRAM credentials (RFC 5802 §3) for one hash function.
struct scram_credentials {
  bool found = false;      ///< false: no such user
  std::string salt;        ///< raw bytes
  uint32_t iterations = 0; ///< PBKDF2 iteration count
  std::string stored_key;  ///< raw bytes: H(ClientKey)
  std::string server_key;  ///< raw bytes: HMAC(SaltedPassword, "Server Key")
};

/// `auth.get_scram` (first). The SCRAM credentials of `user` for `hash`
/// ("SHA-1" or "SHA-256"), so no plaintext password is ever needed.
/// handled(creds): creds.found tells whether the user exists.
/// Default: no such user (the exchange fails with <not-authorized/>
/// without telling the client whether the user exists). Error or timeout:
/// <temporary-auth-failure/>.
struct auth_get_scram {
  static constexpr const char* name = "auth.get_scram";
  using answer_type = answer<scram_credentials>;
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
  jid user;
  std::string password;
};

/// `auth.set_password` (first). Change a password (XEP-0077 §3.3, admin
/// command). handled(result). Default: not_allowed.
struct auth_set_password {
  static constexpr const char* name = "auth.set_password";
  using answer_type = answer<account_result>;
  jid user;
  std::string password;
};

/// `auth.remove_user` (first). Delete an account. handled(result).
/// Default: not_allowed.
struct auth_remove_user {
  static constexpr const char* name = "auth.remove_user";
  using answer_type = answer<account_result>;
  jid user;
};

/// `auth.list_users` (first). The accounts of the vhost (admin command).
/// handled(names): local parts. Default: empty.
struct auth_list_users {
  static constexpr const char* name = "auth.list_users";
  using answer_type = answer<std::vector<std::string>>;
};

// --- stanzas ----------------------------------------------------------------

/// `iq` (first, dispatched by key): an iq get/set addressed to the server
/// or to a user's bare JID, sent only to the plugins that declared its
/// "get NS" / "set NS" key. handled(reply): the complete reply stanza
/// (type result or error; the vhost fixes id/from/to). Default:
/// <service-unavailable/>. Error or timeout: <internal-server-error/>.
struct iq_request {
  static constexpr const char* name = "iq";
  using answer_type = answer<xml::element_ptr>;
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
  jid user;
  std::vector<int64_t> ids;
};

// --- rosters (RFC 6121 §2, §3; DJabberd's Roster* hooks) ---

/// One roster item with its subscription state (RFC 6121 Appendix A).
struct roster_item {
  jid contact; ///< bare JID
  std::string name;
  std::vector<std::string> groups;
  /// "none", "to", "from" or "both".
  std::string subscription = "none";
  bool ask_out = false;    ///< Pending Out: shown as ask='subscribe'
  bool pending_in = false; ///< Pending In (not shown in the roster)
  bool approved = false;   ///< pre-approved (RFC 6121 §3.4)
  /// In the user's roster (shown by a roster get): she added the contact
  /// or a subscription state made it appear. False for a record that only
  /// holds a request from a contact she never added (Pending In alone,
  /// RFC 6121 §3.1.3); such a record stays unlisted until she acts, and a
  /// listed contact stays listed as None + Pending In (Appendix A).
  bool listed = true;

  /// The contact receives the user's presence ("from" or "both").
  bool subscribed_from() const {
    return subscription == "from" || subscription == "both";
  }
  /// The user receives the contact's presence ("to" or "both").
  bool subscribed_to() const {
    return subscription == "to" || subscription == "both";
  }
  /// A subscription state or a pending request of the user's own puts
  /// the contact in her roster (an item is never unlisted again).
  void update_listed() {
    if (subscription != "none" || ask_out || approved)
      listed = true;
  }
};

/// A user's roster and its version (RFC 6121 §2.6).
struct roster {
  std::string version;
  std::vector<roster_item> items;
};

/// `roster.get` (first, RosterGet). handled(roster). Default: an empty
/// roster. Error: <internal-server-error/>.
struct roster_get {
  static constexpr const char* name = "roster.get";
  using answer_type = answer<roster>;
  jid user;
};

/// `roster.load_item` (first, RosterLoadItem). handled(items): the item
/// for `contact`, or an empty vector when there is none.
struct roster_load_item {
  static constexpr const char* name = "roster.load_item";
  using answer_type = answer<std::vector<roster_item>>;
  jid user;
  jid contact;
};

/// `roster.set_item` (first, RosterAddUpdateItem / RosterSetItem): add
/// or replace the item of `item.contact`. handled(version): the roster's
/// new version. Default: not stored (<internal-server-error/>).
struct roster_set_item {
  static constexpr const char* name = "roster.set_item";
  using answer_type = answer<std::string>;
  jid user;
  roster_item item;
};

/// `roster.remove_item` (first, RosterRemoveItem). handled(version).
struct roster_remove_item {
  static constexpr const char* name = "roster.remove_item";
  using answer_type = answer<std::string>;
  jid user;
  jid contact;
};

/// `roster.wipe` (first, RosterWipe): the account is gone. handled(true).
struct roster_wipe {
  static constexpr const char* name = "roster.wipe";
  using answer_type = answer<bool>;
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
/// plugin of the vhost serves it (vhost_info::has_presence_check).
struct presence_check {
  static constexpr const char* name = "presence.check";
  using answer_type = answer<std::vector<xml::element_ptr>>;
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
/// when some plugin serves it (vhost_info::has_alter_available); the
/// session handles nothing else of its client until the fold answers.
struct presence_alter_available {
  static constexpr const char* name = "presence.alter_available";
  using answer_type = answer<filter_verdict>;
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
  xml::element_ptr stanza;
  jid user;
};

/// `presence.initial` (notify, OnInitialPresence): a session sent its
/// initial presence (RFC 6121 §4.2), as broadcast (after the alter fold;
/// the client's own when a plugin dropped it).
struct presence_initial {
  static constexpr const char* name = "presence.initial";
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
  jid user; ///< bare
};

/// `blocking.block` (first): add `items` to the list of `user` (stored
/// before the answer). handled(true). Default: not stored
/// (<internal-server-error/>).
struct blocking_block {
  static constexpr const char* name = "blocking.block";
  using answer_type = answer<bool>;
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
  std::string remote_addr;
  uint16_t remote_port = 0;
};

/// `session.bound` (notify): a resource was bound.
struct session_bound {
  static constexpr const char* name = "session.bound";
  jid full;
  caf::actor session;
  std::string remote_addr;
};

/// `session.closed` (notify): a bound session ended.
struct session_closed {
  static constexpr const char* name = "session.closed";
  jid full;
  std::string reason;
  /// The <status/> text of the session's last unavailable presence, if
  /// it sent one and did not become available again (XEP-0012 §4).
  std::string status = {};
};

// Disco features, identities and stream features are not hook calls: a
// plugin declares them in its manifest (plugins/plugin.hpp) and the vhost
// answers from that.

} // namespace dja::hooks

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<bool>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::xml::element_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::hooks::filter_verdict>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_check_password)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_user_exists)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::hooks::scram_credentials>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::hooks::account_result>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::scram_credentials)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::account_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_get_scram)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_register)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_set_password)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_remove_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::auth_list_users)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<std::vector<std::string>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::iq_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::filter_stanza)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::deliver)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::delivery_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::hooks::delivery_verdict>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::connection_accepted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::offline_fetch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<std::vector<dja::xml::element_ptr>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::offline_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::hooks::offline_message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<std::vector<dja::hooks::offline_message>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::offline_remove)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::xml::element_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dja::hooks::roster_item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<dja::hooks::roster>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<std::vector<dja::hooks::roster_item>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::answer<std::string>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_load_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_set_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_remove_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::roster_wipe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::session_bound)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::session_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::presence_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::presence_alter_available)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::presence_alter_unavailable)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::presence_initial)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::blocking_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::blocking_block)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::blocking_unblock)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::hooks::blocking_check)
