#pragma once

// XEP-0157 Contact Addresses for XMPP Services: the disco plugin's
// options `abuse`, `admin`, `feedback`, `sales`, `security`, `support`
// (arrays of URIs) and the fields of the
// http://jabber.org/network/serverinfo form (XEP-0128) they become.

#include <string>
#include <vector>

#include <toml++/toml.h>

#include "hooks/plugin.hpp"

namespace dja::plugins::disco {

/// XEP-0157 §3: the FORM_TYPE of the contact addresses.
constexpr const char* ns_serverinfo = "http://jabber.org/network/serverinfo";

/// The option schema: one array of URIs per XEP-0157 address kind.
std::vector<option_spec> contact_options();

/// The serverinfo fields of the options present, in XEP-0157 §3 order
/// (`abuse` becomes "abuse-addresses"); none when no address is set.
std::vector<info_field> contact_fields(const toml::table& options);

/// What was expected when `uri` is not an absolute URI (RFC 3986 §3:
/// a scheme, ':', something), "" when it is: XEP-0157 §4 addresses are
/// mailto:, xmpp:, https: ... URIs, never bare addresses.
std::string check_uri(const std::string& uri);

} // namespace dja::plugins::disco
