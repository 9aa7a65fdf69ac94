#pragma once

// Stanzas between nodes: serialized XML on the wire, parsed again on the
// receiving node with the same parser the connections use (so a peer can
// never hand us a tree the parser would not have built).

#include <string>

#include "common/xml.hpp"

namespace dja::cluster::wire_xml {

/// The stanza as XML text in the jabber:client namespace.
std::string serialize(const xml::element& e);

/// The stanza again, or null when the text is not one well-formed
/// element (then the hop counts as failed).
xml::element_ptr parse(const std::string& text);

} // namespace dja::cluster::wire_xml
