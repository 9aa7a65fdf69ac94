#pragma once

// vCards (XEP-0054 vcard-temp) from directory attributes, mapped as
// ejabberd's `ldap_vcard_map`: `FN = "cn"`, `"EMAIL/USERID" = "mail"`,
// `PHOTO = "jpegPhoto"`. A key is a vCard element or ELEMENT/CHILD;
// ejabberd's flat names (FAMILY, GIVEN, ORGNAME, EMAIL, TEL, LOCALITY,
// ...) are accepted for their place in the vCard. The map becomes a
// template of the sql plugin's renderer (plugins/sql/vcard.hpp), so
// values are escaped the same way and empty elements dropped; PHOTO gets
// <TYPE> told by the image's magic bytes (PNG, GIF, WebP) and image/jpeg
// otherwise (RFC 2798 §2.6: jpegPhoto holds JPEG), and <BINVAL> in
// base64, so its XEP-0153 hash reaches other clients' presence.

#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/xml.hpp"
#include "plugins/ldap/directory.hpp"

namespace dja::plugins::ldap {

/// The map used when `vcard_map` is not set.
const std::map<std::string, std::string>& default_vcard_map();

/// Why `v` (a table of strings) is not a usable map ("" when it is).
std::string check_vcard_map(const toml::node& v);

/// The renderer's template of `map` and the attributes it reads.
std::pair<std::string, std::vector<std::string>>
vcard_template(const std::map<std::string, std::string>& map);

/// The vCard of `e` by `tmpl`; nullptr when the template gives none.
xml::element_ptr render_vcard(const std::string& tmpl,
                              const std::vector<std::string>& attrs,
                              const entry& e);

} // namespace dja::plugins::ldap
