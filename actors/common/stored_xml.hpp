#pragma once

// One element kept as text (a stored vCard, private XML, an offline
// stanza, a stanza hopping between cluster nodes) read back with the
// parser the connections use, so that what is read back is a tree the
// parser would have built from a client (RFC 6120 §11.1 restrictions
// included). The one place that does it; xml::to_string() writes them.

#include <string_view>

#include "common/xml.hpp"

namespace dja::xml {

/// Parses `text`, one element serialized by xml::to_string() with parent
/// namespace "jabber:client". nullptr when it is not exactly one
/// well-formed element.
element_ptr parse_stored(std::string_view text);

} // namespace dja::xml
