#pragma once

// Building XMPP errors: stanza errors (RFC 6120 §8.3) as reply stanzas and
// stream errors (RFC 6120 §4.9) as wire text.

#include <string>
#include <string_view>

#include "common/xml.hpp"

namespace dja::errors {

/// The error type RFC 6120 §8.3.3 gives for a defined condition
/// ("cancel", "modify", "auth", "wait").
const char* default_type(std::string_view condition);

/// The error reply to `orig`: same name and id, `from`/`to` swapped,
/// type='error', the original children kept (RFC 6120 §8.3.1 allows it)
/// and an <error/> with `condition` appended.
xml::element_ptr stanza_error(const xml::element& orig,
                              std::string_view condition,
                              std::string_view text = {});

/// True when `e` must never be answered with an error (it is one).
bool is_error(const xml::element& e);

/// `<stream:error><COND/>[<text/>]</stream:error></stream:stream>`.
std::string stream_error(std::string_view condition,
                         std::string_view text = {});

/// A stanza-level `<error/>` element (for plugins building replies).
xml::element error_element(std::string_view condition,
                           std::string_view text = {});

/// A result iq answering `request` (from/to swapped, same id).
xml::element iq_result(const xml::element& request);

} // namespace dja::errors
