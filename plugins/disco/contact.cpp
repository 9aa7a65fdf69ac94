// XEP-0157 contact addresses as options of the disco plugin
// (plugins/disco/contact.hpp).

#include "plugins/disco/contact.hpp"

#include <cctype>

namespace dja::plugins::disco {

namespace {

/// XEP-0157 §3: the registered address kinds, "<kind>-addresses".
constexpr const char* kinds[] = {"abuse",    "admin",    "feedback",
                                 "sales",    "security", "support"};

std::string check_list(const toml::node& v) {
  auto a = v.as_array();
  if (a == nullptr)
    return "an array of URIs";
  for (size_t i = 0; i < a->size(); ++i) {
    auto s = a->get(i)->value<std::string>();
    if (!s)
      continue; // reported by the type check
    if (auto err = check_uri(*s); !err.empty())
      return err + " (item " + std::to_string(i) + ": \"" + *s + "\")";
  }
  return {};
}

} // namespace

std::string check_uri(const std::string& uri) {
  auto colon = uri.find(':');
  auto expected = "an address as a URI, e.g. \"mailto:abuse@example.org\" "
                  "or \"xmpp:admin@example.org\"";
  if (colon == std::string::npos || colon == 0 || colon + 1 == uri.size())
    return expected;
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  if (!std::isalpha(static_cast<unsigned char>(uri[0])))
    return expected;
  for (size_t i = 1; i < colon; ++i) {
    auto c = static_cast<unsigned char>(uri[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.')
      return expected;
  }
  return {};
}

std::vector<option_spec> contact_options() {
  std::vector<option_spec> res;
  for (auto k : kinds)
    res.push_back({k, option_type::string_list, false,
                   std::string{"XEP-0157 "} + k
                     + " addresses (URIs: mailto:, xmpp:, https:)",
                   check_list});
  return res;
}

std::vector<info_field> contact_fields(const toml::table& options) {
  std::vector<info_field> res;
  for (auto k : kinds) {
    auto a = options[k].as_array();
    if (a == nullptr || a->empty())
      continue;
    info_field f{ns_serverinfo, std::string{k} + "-addresses", {}};
    for (auto& v : *a)
      if (auto s = v.value<std::string>())
        f.values.push_back(*s);
    res.push_back(std::move(f));
  }
  return res;
}

} // namespace dja::plugins::disco
