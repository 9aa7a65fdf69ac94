#pragma once

// Roster items as XML (RFC 6121 §2.1): for roster results and for the
// pushes that both sessions (the user's own changes) and router shards
// (subscription changes) send.

#include <string>

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

} // namespace dja::roster_xml
