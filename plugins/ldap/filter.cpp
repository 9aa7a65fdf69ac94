// LDAP filter and DN values from user input (plugins/ldap/filter.hpp);
// RFC 4515 §3 and RFC 4514 §2.4, §3.

#include "plugins/ldap/filter.hpp"

#include <cctype>
#include <cstdio>

namespace dja::plugins::ldap {

namespace {

std::string hex_escape(unsigned char c) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "\\%02x", c);
  return buf;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

} // namespace

std::string escape_filter_value(std::string_view v) {
  std::string out;
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    // RFC 4515 §3: these four and NUL must be escaped in a value.
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0)
      out += hex_escape(c);
    else
      out += ch;
  }
  return out;
}

std::string escape_dn_value(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<'
                   || c == '>' || c == ';' || c == '='
                   || (i == 0 && (c == '#' || c == ' '))
                   || (i + 1 == v.size() && c == ' ');
    if (c == 0)
      out += "\\00"; // RFC 4514 §2.4: NUL as a hex pair
    else if (special)
      out += std::string{'\\'} + v[i];
    else
      out += v[i];
  }
  return out;
}

std::string filter_for(std::string_view tmpl, std::string_view user,
                       std::string_view domain) {
  return expand(tmpl, user, domain, escape_filter_value);
}

std::string dn_for(std::string_view tmpl, std::string_view user,
                   std::string_view domain) {
  return expand(tmpl, user, domain, escape_dn_value);
}

std::string check_filter(std::string_view f) {
  const char* want = "an LDAP filter in parentheses, e.g. \"(uid=$user)\"";
  if (f.size() < 3 || f.front() != '(' || f.back() != ')')
    return want;
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\') {
      ++i;
      continue;
    }
    depth += f[i] == '(' ? 1 : f[i] == ')' ? -1 : 0;
    if (depth < 0 || (depth == 0 && i + 1 < f.size()))
      return want;
  }
  return depth == 0 ? "" : want;
}

std::optional<std::pair<std::string, std::string>>
first_rdn(std::string_view dn) {
  auto eq = dn.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return std::nullopt;
  std::string attr{dn.substr(0, eq)};
  while (!attr.empty() && attr.back() == ' ')
    attr.pop_back();
  std::string value;
  for (size_t i = eq + 1; i < dn.size(); ++i) {
    char c = dn[i];
    if (c == ',' || c == ';')
      break;
    if (c == '+')
      return std::nullopt; // multi-valued RDN: not a user name
    if (c != '\\') {
      value += c;
      continue;
    }
    if (i + 2 < dn.size() && hex_value(dn[i + 1]) >= 0
        && hex_value(dn[i + 2]) >= 0) {
      value += static_cast<char>(hex_value(dn[i + 1]) * 16
                                 + hex_value(dn[i + 2]));
      i += 2;
    } else if (i + 1 < dn.size()) {
      value += dn[++i];
    }
  }
  if (value.empty())
    return std::nullopt;
  return std::make_pair(attr, value);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace dja::plugins::ldap
