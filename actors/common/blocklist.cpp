#include "common/blocklist.hpp"

namespace dja {

blocklist::blocklist(const std::vector<std::string>& items) {
  for (auto& s : items)
    if (auto j = jid::parse(s))
      add(*j);
}

bool blocklist::matches(const jid& j) const {
  if (items_.empty() || j.empty())
    return false;
  if (items_.count(j.str()) > 0) // the JID itself, whatever its form
    return true;
  if (!j.local().empty() && items_.count(j.bare_str()) > 0)
    return true; // user@domain: any resource
  // domain (and parent domains): everything at it. A "domain/resource"
  // item matches only itself, which the first lookup covered.
  std::string_view d = j.domain();
  for (;;) {
    if (items_.count(std::string{d}) > 0)
      return true;
    auto dot = d.find('.');
    if (dot == std::string_view::npos)
      return false;
    d.remove_prefix(dot + 1);
  }
}

} // namespace dja
