#pragma once

// A user's XEP-0191 block list as a value, with the JID matching rules of
// XEP-0191 §6 (those of XEP-0016 §2.1 plus subdomains). Shared by the
// session (which enforces the list on every stanza without asking a
// plugin) and the blocking plugins (which enforce it for offline users).

#include <set>
#include <string>
#include <vector>

#include "common/jid.hpp"

namespace dja {

class blocklist {
public:
  blocklist() = default;
  /// From stored items (jid::str() of prepared JIDs); unparsable ones are
  /// skipped.
  explicit blocklist(const std::vector<std::string>& items);

  void add(const jid& item) { items_.insert(item.str()); }
  void remove(const jid& item) { items_.erase(item.str()); }
  void clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  bool contains(const jid& item) const { return items_.count(item.str()) > 0; }

  /// Is `j` blocked? An item matches (XEP-0191 §6):
  ///  - user@domain/resource: only that full JID;
  ///  - user@domain: that bare JID and any of its resources;
  ///  - domain/resource: only that JID;
  ///  - domain: the domain itself, any JID at it (user@domain,
  ///    domain/resource, user@domain/resource) and any JID at one of its
  ///    subdomains.
  bool matches(const jid& j) const;

  /// The items, sorted.
  std::vector<std::string> items() const {
    return {items_.begin(), items_.end()};
  }

private:
  std::set<std::string> items_;
};

} // namespace dja
