#pragma once

// What a XEP-0357 notification says and looks like: which messages wake
// a device (as Prosody's mod_cloud_notify decides), and the §7 publish
// to the app server with the urn:xmpp:push:summary form.

#include <string>

#include "common/jid.hpp"
#include "common/xml.hpp"
#include "plugins/push/registration.hpp"

namespace dja::plugins::push {

/// The message a notification summarises for `m` (a stanza for the
/// device), or nullptr when `m` does not wake anyone: a message with a
/// <body/>, an end-to-end encrypted payload (XEP-0384 OMEMO, XEP-0373
/// OpenPGP) or a XEP-0353 call proposal; a received carbon by what it
/// wraps; never an error, nor a copy of what the user sent herself (a
/// sent carbon), nor a chat state, receipt or marker alone.
const xml::element* worth_waking(const xml::element& m);

/// The urn:xmpp:push:summary fields of one notification (XEP-0357 §7).
struct summary {
  int64_t count = 0;  ///< message-count: messages since the last one
  std::string sender; ///< last-message-sender; "" = left out
  std::string body;   ///< last-message-body; "" = left out
};

/// The <iq type='set'/> from `user` (the account's bare JID) publishing
/// a notification to `reg`'s node at its app server, with the
/// registration's publish-options (XEP-0357 §7, Example 9).
xml::element_ptr notification(const registration& reg, const jid& user,
                              const std::string& id, const summary& s);

} // namespace dja::plugins::push
