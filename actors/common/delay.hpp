#pragma once

// XEP-0203 Delayed Delivery stamps, for stanzas that reach a client later
// than they arrived: offline storage (XEP-0160) and stanzas resent after
// a stream resumption (XEP-0198 §5).

#include <ctime>
#include <string>

#include "common/xml.hpp"

namespace dja::delay {

/// `at` (default: now) as an XEP-0082 DateTime in UTC:
/// 2024-05-01T12:34:56Z.
std::string utc_stamp(std::time_t at = std::time(nullptr));

/// `s` with a <delay xmlns='urn:xmpp:delay' from='domain' stamp='at'/>
/// child.
xml::element stamped(const xml::element& s, const std::string& domain,
                     std::time_t at = std::time(nullptr));

/// True when `s` has a <delay xmlns='urn:xmpp:delay'/> child already.
bool has_stamp(const xml::element& s);

} // namespace dja::delay
