#pragma once

// The values a user sends that end up in LDAP requests: a filter with
// `$user` / `$domain` (RFC 4515 §3: `*`, `(`, `)`, `\` and NUL are
// escaped as \2a \28 \29 \5c \00, so `*)(uid=*` in a user name matches
// nothing but that literal name) and a DN template (RFC 4514 §2.4: `,`
// `+` `"` `\` `<` `>` `;` `=`, a leading `#` or space and a trailing
// space are escaped, so a user name cannot add RDNs). Also the value of
// a DN's first RDN (uid=alice,ou=people,... -> "alice") for group members
// given by DN.

#include <optional>
#include <string>
#include <string_view>

namespace dja::plugins::ldap {

/// `v` as an RFC 4515 assertion value.
std::string escape_filter_value(std::string_view v);

/// `v` as an RFC 4514 attribute value of a DN.
std::string escape_dn_value(std::string_view v);

/// `tmpl` with `$user` and `$domain` (or Prosody's `$host`) replaced by
/// `escape(value)`.
template <class Escape>
std::string expand(std::string_view tmpl, std::string_view user,
                   std::string_view domain, Escape escape) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    if (tmpl.substr(pos, 5) == "$user") {
      out += escape(user);
      pos += 5;
    } else if (tmpl.substr(pos, 7) == "$domain") {
      out += escape(domain);
      pos += 7;
    } else if (tmpl.substr(pos, 5) == "$host") {
      out += escape(domain);
      pos += 5;
    } else {
      out += tmpl[pos++];
    }
  }
  return out;
}

/// The filter `tmpl` for `user` of `domain`, values escaped (RFC 4515).
std::string filter_for(std::string_view tmpl, std::string_view user,
                       std::string_view domain);

/// The DN `tmpl` for `user` of `domain`, values escaped (RFC 4514).
std::string dn_for(std::string_view tmpl, std::string_view user,
                   std::string_view domain);

/// Why `f` is not a usable filter ("" when it is): parenthesized, the
/// parentheses balanced.
std::string check_filter(std::string_view f);

/// The attribute and value of the first RDN of `dn` (RFC 4514, escapes
/// undone); nullopt when it does not parse or is multi-valued.
std::optional<std::pair<std::string, std::string>>
first_rdn(std::string_view dn);

/// ASCII case-insensitive equality (attribute names, RFC 4512 §2.5).
bool iequals(std::string_view a, std::string_view b);

} // namespace dja::plugins::ldap
