#pragma once

// A vCard (XEP-0054 vcard-temp) made from one row of vcard_sql by the
// operator's XML template: `{column}` is the column's value escaped as
// XML text, `{column|base64}` its bytes in base64 (an avatar blob, for
// BINVAL), `{column|mime}` the image type told by the blob's first bytes
// (PNG, JPEG, GIF, WebP: a site that stores no type still gets a PHOTO
// with its TYPE, so XEP-0153 hashes reach the clients), and
// `{column|elements}` the children of a stored <vCard/> (ejabberd's vcard
// table: template "<vCard xmlns='vcard-temp'>{vcard|elements}</vCard>").
// Values are escaped (the stored vCard re-serialized from its parse), so
// no column can add elements the template does not have. Elements left
// without text or children are dropped, so a user without a photo has no
// empty <PHOTO/>.

#include <string>

#include <toml++/toml.h>

#include "common/xml.hpp"
#include "plugins/sql/driver.hpp"

namespace dja::plugins::sql {

/// The template used when `vcard_template` is not set.
extern const char* const default_template;

/// Why `v` is not a usable template ("" when it is): it must give one
/// <vCard xmlns='vcard-temp'> element.
std::string check_template(const toml::node& v);

/// The vCard of row `i` of `r` (nullptr when the template does not give
/// a vCard element).
xml::element_ptr render(const std::string& tmpl, const rows& r, size_t i);

} // namespace dja::plugins::sql
