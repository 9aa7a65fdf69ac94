#pragma once

// A read-only roster assembled from a user base's rows (sql roster_sql
// and shared groups, ldap groups): one item per contact with the groups
// of all its rows (RFC 6121 §2.1.2.4), a shared group making the
// subscription "both" (as Openfire's JDBC groups and ejabberd's
// mod_shared_roster), and a version that changes when the rows do
// (RFC 6121 §2.6).

#include <map>
#include <string>
#include <vector>

#include "common/jid.hpp"
#include "hooks/catalogue.hpp"

namespace dja::plugins {

class roster_fold {
public:
  /// One row: `contact` (bare) named `name` in `group` ("" none) with
  /// `sub` ("none", "to", "from", "both"). Rows never lower a
  /// subscription to "both".
  void add(const jid& contact, const std::string& name,
           const std::string& sub, const std::string& group);

  /// The members of a shared group `group`: everyone but `self`, with
  /// subscription both.
  void add_group(const std::string& group, const std::vector<jid>& members,
                 const jid& self);

  /// The roster, its version "PREFIX-<digest of the items>".
  hooks::roster finish(const std::string& prefix);

private:
  std::map<std::string, roster_item> items_;
};

} // namespace dja::plugins
