#pragma once

// XEP-0359 unique and stable stanza ids, as the server issues them for
// its message archives (XEP-0313), and the rule of XEP-0313 §5.1 for
// which messages are archived. Shared by the router, which stamps the
// ids on the delivery path (actors/router/archive.cpp), and the mam
// plugins.
//
// An id is the routing time (µs, hex), a process-wide counter and a
// per-process random part, followed by a tag: SipHash-2-4 (a keyed
// pseudo-random function, 64 bits) over the id, the archive (`by`) and
// the sender under a per-process key. The tag lets
// the router tell a message it has archived already (one routed again
// after its session went away) from a client's forgery, which
// XEP-0359 §3.3 says to strip: a client cannot make a valid tag.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/xml.hpp"

namespace dja::stanza_id {

/// XEP-0313 §5.1.1: a <message/> of type chat or normal (no type: normal)
/// with a <body/>, or with a XEP-0334 <store/> hint; never one with
/// <no-store/> or <no-permanent-store/> (XEP-0334 §4.1, §4.2).
bool archivable(const xml::element& s);

/// Microseconds since the epoch, now.
int64_t now_us();

/// A new id for the archive `by` (a bare JID) of a message whose `from`
/// attribute is `from`, routed at `stamp_us`.
std::string make(std::string_view by, std::string_view from,
                 int64_t stamp_us);

/// Does `s` carry a <stanza-id by='by'/> that this process issued for
/// it (make() with the same `by` and `s`'s `from`)?
bool issued(const xml::element& s, std::string_view by);

/// Does `s` carry any <stanza-id by='by'/>?
bool has(const xml::element& s, std::string_view by);

/// Removes every <stanza-id by='by'/> of `s` (XEP-0359 §3.3).
void strip(xml::element& s, std::string_view by);

/// Appends <stanza-id xmlns='urn:xmpp:sid:0' by='by' id='id'/>.
void add(xml::element& s, std::string_view by, std::string id);

} // namespace dja::stanza_id
