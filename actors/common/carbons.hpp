#pragma once

// XEP-0280 Message Carbons as pure functions over stanzas, shared by the
// session (enable/disable, <sent/> copies, delivery) and the router
// (<received/> copies): which messages are copied (§6, with the XEP-0334
// <no-copy/> hint and the §9 <private/> element), how a copy is wrapped
// (§7, §8, XEP-0297) and what a carbon from outside must lose (§11).

#include <string_view>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace dja::carbons {

/// The direction of a copy: the wrapper's element name.
enum class direction { received, sent };

/// §6 eligibility of `m` (a <message/>): type chat, or normal with a
/// <body/>; an error only when inbound and from a bare JID (the bounce
/// of a message the user sent to a bare JID); never groupchat, nor a
/// message from a MUC (an <x xmlns='...muc#user'/>, private messages
/// included), nor one carrying <private/> (§9) or <no-copy/> (XEP-0334
/// §4.2).
bool eligible(const xml::element& m, direction d);

/// The copy for one of `user`'s resources: <message from=bare type=T>
/// <received|sent xmlns='urn:xmpp:carbons:2'><forwarded
/// xmlns='urn:xmpp:forward:0'>`m`</forwarded></...></message>, without
/// `to` (each session sets its own full JID, §7).
xml::element_ptr wrap(const xml::element_ptr& m, const jid& user,
                      direction d);

/// §11: a <received/> or <sent/> of urn:xmpp:carbons:2 in a message that
/// reaches the router came from some client, never from this server
/// (its copies go to sessions directly), so it is removed; null when
/// `m` has none (the common case, no copy made).
xml::element_ptr strip_forged(const xml::element& m);

/// The original a carbon wraps (nullptr when `m` is not one), and its
/// direction.
const xml::element* inner(const xml::element& m, direction* d = nullptr);

} // namespace dja::carbons
