#pragma once

// Roster items as XML (RFC 6121 §2.1): for roster results and for the
// pushes that both sessions (the user's own changes) and router shards
// (subscription changes) send.

#include <string>
#include <vector>

#include "common/xml.hpp"
#include "common/roster_item.hpp"

namespace dja::roster_xml {

constexpr const char* ns = "jabber:iq:roster";

/// `<item jid name subscription [ask] [approved]><group/>...</item>`, or
/// `<item jid subscription='remove'/>` for a removed item.
xml::element item(const roster_item& item, bool removed);

/// A roster push (`<iq type='set'><query ver>ITEM</query></iq>`), without
/// `to`: each session addresses it to its own full JID.
xml::element_ptr push(const roster_item& item,
                      const std::string& version, bool removed);

/// The pushes that bring a client holding `before` to `now` (RFC 6121
/// §2.1.6): an item new or changed in name, subscription or groups, and
/// a removal for an item gone; none when the versions are equal. For
/// plugins whose rosters change outside the server (plugins/sql,
/// plugins/http).
std::vector<xml::element_ptr> changes(const roster& before,
                                      const roster& now);

} // namespace dja::roster_xml
