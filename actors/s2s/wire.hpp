#pragma once

// What s2s streams put on the wire and take off it: stream headers, and
// stanzas moved between the jabber:client namespace they have inside the
// server and the jabber:server namespace of s2s streams (RFC 6120 §4.8.3).

#include <string>

#include "common/xml.hpp"

namespace dja::s2s {

constexpr const char* ns_server = "jabber:server";
constexpr const char* ns_dialback = "jabber:server:dialback";
/// XEP-0220 §2.1: the stream feature that announces dialback.
constexpr const char* ns_dialback_feature = "urn:xmpp:features:dialback";

/// `<?xml?><stream:stream xmlns='jabber:server' xmlns:db=...` with the
/// attributes that are not empty.
std::string stream_header(const std::string& from, const std::string& to,
                          const std::string& id);

/// A copy of `e` with every element in `from_ns` moved to `to_ns`.
xml::element_ptr retag(const xml::element& e, const char* from_ns,
                       const char* to_ns);

/// Serializes an element of the jabber:server stream (dialback, SASL,
/// TLS elements and retagged stanzas).
std::string to_wire(const xml::element& e);

/// 16 random hex digits (stream ids).
std::string random_id();

} // namespace dja::s2s
