#pragma once

// The state of one pep.* plugin actor (one per vhost), split by protocol
// area: serve.cpp (the plugin type, dispatch, disco), pubsub.cpp
// (XEP-0060 §6-§7: publish, items, retract, subscribe), owner.cpp
// (§8: configure, delete, purge, create), notify.cpp (XEP-0163 §4.3:
// presence and XEP-0115 caps of the vhost's users, notifications, last
// items) and bookmarks.cpp (XEP-0411: storage:bookmarks in private XML
// storage served from the XEP-0402 node).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/docs/store.hpp"
#include "plugins/pep/caps.hpp"
#include "plugins/pep/node.hpp"

namespace dja::plugins::pep {

using docs::reply_t;

/// To itself: send the last items to a resource whose features became
/// known (notify.cpp), after answering the presence fold.
using last_items_atom = caf::atom_constant<caf::atom("last_items")>;

/// Plugin options (README.md).
struct bounds {
  int64_t max_items = 256;        ///< per node; what "max" means
  int64_t max_nodes = 256;        ///< per account
  int64_t max_payload = 131072;   ///< bytes of one item's payload
  int64_t quota = 8 * 1024 * 1024; ///< bytes per account, 0 = none
  int64_t caps_cache = 1000;      ///< verification strings kept
};

/// One bound resource of a user of the vhost.
struct resource {
  caf::actor session;
  bool available = false;
  std::optional<caps_ref> caps;
  feature_set features; ///< null while unknown
};

struct pep_state {
  static inline const char* name = "pep";

  caf::stateful_actor<pep_state>* self = nullptr;
  std::string tag;
  std::string domain;
  bounds limits;
  std::shared_ptr<docs::store> db;
  caf::actor vhost;
  /// Account features of the other plugins of the vhost (XEP-0313,
  /// XEP-0357: plugins/common/account_features.hpp).
  std::vector<std::string> more_features;
  /// bare JID -> resource -> what we know of it.
  std::unordered_map<std::string, std::map<std::string, resource>> online;
  caps_cache caps{1000};
  /// Our disco#info queries in flight: id -> (full JID, caps).
  std::unordered_map<std::string, std::pair<jid, caps_ref>> queries;
  uint64_t next_id = 0;

  std::string make_id(const char* prefix) {
    return std::string{prefix} + std::to_string(++next_id);
  }

  // --- serve.cpp ---
  caf::result<reply_t> handle(const hooks::iq_request& r);
  reply_t disco_info(const hooks::iq_request& r, const xml::element& q);
  reply_t disco_items(const hooks::iq_request& r);
  /// Loads a node of `owner` (nullopt: none); an error is logged.
  caf::expected<std::optional<node>> load(const std::string& owner,
                                          const std::string& name);
  caf::error save(const std::string& owner, const node& n);
  /// The node names of `owner`.
  caf::expected<std::map<std::string, int64_t>>
  node_sizes(const std::string& owner);

  // --- pubsub.cpp ---
  caf::result<reply_t> pubsub(const hooks::iq_request& r,
                              const xml::element& q);
  reply_t publish(const hooks::iq_request& r, const xml::element& pub,
                  const xml::element* options);
  /// Publishes `it` to `owner`'s node `name` (created with `cfg` when
  /// missing), stores and notifies; an error reply or null on success.
  xml::element_ptr publish_item(const hooks::iq_request& r,
                                const std::string& name, node_item it,
                                const form_values* options);
  caf::result<reply_t> items(const hooks::iq_request& r,
                             const xml::element& q);
  reply_t retract(const hooks::iq_request& r, const xml::element& q);
  caf::result<reply_t> subscribe(const hooks::iq_request& r,
                                 const xml::element& q, bool sub);
  /// Runs `k(allowed?)` once the access model of `n` says whether the
  /// requester of `r` may see it (the owner's roster for `presence`).
  void authorize(const hooks::iq_request& r, const node& n,
                 std::function<void(bool)> k);

  // --- owner.cpp ---
  caf::result<reply_t> owner(const hooks::iq_request& r,
                             const xml::element& q);
  reply_t create(const hooks::iq_request& r, const xml::element& create,
                 const xml::element* configure);

  // --- notify.cpp ---
  void on_bound(const hooks::session_bound& b);
  void on_closed(const hooks::session_closed& c);
  void on_available(const hooks::presence_alter_available& p);
  void on_unavailable(const hooks::presence_alter_unavailable& p);
  /// A result or error a client sent to the server: true when it
  /// answers one of our caps queries.
  bool on_response(const hooks::iq_request& r);
  /// `features` of `full` became known: send it the last items.
  void features_known(const jid& full);
  /// Sends the event `ev` of `owner`'s node `n` to every resource that
  /// should hear it (XEP-0163 §4.3: own resources and contacts with a
  /// presence subscription whose caps say +notify, explicit
  /// subscribers).
  void broadcast(const jid& owner, const node& n, const xml::element& ev);
  /// Sends `owner`'s last item of `n` to `to` (a full JID).
  void send_last(const jid& owner, const node& n, const jid& to);
  void send_event(const jid& owner, const xml::element& ev, const jid& to);
  bool wants(const jid& full, const std::string& node) const;

  // --- avatar.cpp (XEP-0398) ---
  /// Items of the avatar node `name` made from the owner's vCard photo
  /// (the account has no such node); item-not-found without a photo.
  void vcard_avatar(const hooks::iq_request& r, const std::string& name,
                    std::function<void(reply_t)> k);
  /// XEP-0084 metadata `meta` was published: its image into the vCard.
  void avatar_to_vcard(const jid& owner, const xml::element& meta);

  // --- bookmarks.cpp ---
  /// XEP-0411: a jabber:iq:private get/set of storage:bookmarks answered
  /// from/to the urn:xmpp:bookmarks:1 node; declined otherwise.
  caf::result<reply_t> private_xml(const hooks::iq_request& r,
                                   const xml::element& q);
};

using pep_actor = caf::stateful_actor<pep_state>;

/// urn:xmpp:avatar:data or urn:xmpp:avatar:metadata (XEP-0084).
bool is_avatar_node(const std::string& name);

/// A stanza error with the XEP-0060 application condition `app` (in
/// pubsub#errors; "" none) and, for unsupported, its `feature`.
reply_t error(const hooks::iq_request& r, const char* cond,
              const char* app = "", const std::string& feature = {});

/// The <pubsub/> result of `r` with `child` inside.
reply_t result_with(const hooks::iq_request& r, const char* ns,
                    xml::element child);

} // namespace dja::plugins::pep
