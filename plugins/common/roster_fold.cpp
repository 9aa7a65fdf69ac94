// Rosters folded from a user base's rows (plugins/common/roster_fold.hpp).

#include "plugins/common/roster_fold.hpp"

#include <algorithm>

#include "common/base64.hpp"
#include "common/crypto.hpp"

namespace dja::plugins {

void roster_fold::add(const jid& contact, const std::string& name,
                      const std::string& sub, const std::string& group) {
  auto& it = items_[contact.str()];
  it.contact = contact;
  if (it.name.empty())
    it.name = name;
  // A shared group makes "both"; a row never lowers it.
  if (it.subscription == "none" || sub == "both")
    it.subscription = sub;
  if (!group.empty()
      && std::find(it.groups.begin(), it.groups.end(), group)
           == it.groups.end())
    it.groups.push_back(group);
}

void roster_fold::add_group(const std::string& group,
                            const std::vector<jid>& members,
                            const jid& self) {
  for (auto& m : members)
    if (m.bare() != self.bare())
      add(m.bare(), "", "both", group);
}

hooks::roster roster_fold::finish(const std::string& prefix) {
  hooks::roster out;
  std::string all;
  for (auto& [key, it] : items_) {
    std::sort(it.groups.begin(), it.groups.end());
    all += key + '\0' + it.name + '\0' + it.subscription;
    for (auto& g : it.groups)
      all += '\0' + g;
    all += '\n';
    out.items.push_back(std::move(it));
  }
  items_.clear();
  // RFC 6121 §2.6: the version changes when the rows do.
  auto digest = crypto::digest(crypto::hash_fn::sha1, all);
  out.version = prefix + "-" + base64::encode(digest.substr(0, 9));
  return out;
}

} // namespace dja::plugins
