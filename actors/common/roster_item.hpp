#pragma once

// A roster item with its subscription state and a user's roster (RFC 6121
// §2.1, Appendix A): the values the roster hooks (actors/hooks/catalogue.hpp)
// carry and the router, the sessions and the roster XML
// (common/roster_xml.hpp) read.

#include <string>
#include <vector>

#include "common/jid.hpp"

namespace dja {

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

} // namespace dja
