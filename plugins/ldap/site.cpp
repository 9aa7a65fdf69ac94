// The work of one `ldap` worker (plugins/ldap/site.hpp).

#include "plugins/ldap/site.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/jid.hpp"
#include "plugins/common/roster_fold.hpp"
#include "plugins/ldap/filter.hpp"
#include "plugins/ldap/vcard_map.hpp"

namespace dja::plugins::ldap {

site::site(std::shared_ptr<shared_state> st)
  : st_(std::move(st)), dir_(st_->cfg.conn) {
  // nothing else
}

caf::expected<entries> site::search(const std::string& base, scope s,
                                    const std::string& filter,
                                    const std::vector<std::string>& attrs) {
  auto& c = cfg();
  std::string key;
  if (c.cache_ttl.count() > 0 || c.negative_ttl.count() > 0) {
    key = base + '\0' + (s == scope::base ? "b" : "s") + '\0' + filter;
    for (auto& a : attrs)
      key += '\0' + a;
    if (auto hit = st_->cache.get(key))
      return std::move(*hit);
  }
  auto res = dir_.search(base, s, filter, attrs);
  if (res && !key.empty())
    st_->cache.put(key, *res, res->empty() ? c.negative_ttl : c.cache_ttl);
  return res;
}

caf::expected<std::optional<entry>>
site::find_user(const std::string& user,
                const std::vector<std::string>& attrs) {
  using res_t = std::optional<entry>;
  auto& c = cfg();
  auto found = c.base.empty()
                 ? search(dn_for(c.bind_dn_template, user, c.domain),
                          scope::base, "(objectClass=*)", attrs)
                 : search(c.base, scope::subtree,
                          filter_for(c.filter, user, c.domain), attrs);
  if (!found)
    return found.error();
  if (found->size() > 1) {
    spdlog::error("{}: filter finds {} entries for one user name; none of "
                  "them can log in (make it unique)", c.tag, found->size());
    return res_t{};
  }
  if (found->empty())
    return res_t{};
  return res_t{std::move(found->front())};
}

caf::expected<std::optional<bool>>
site::check_password(const std::string& user, const std::string& pw) {
  using res_t = std::optional<bool>;
  auto& c = cfg();
  std::string dn;
  if (!c.bind_dn_template.empty()) {
    dn = dn_for(c.bind_dn_template, user, c.domain);
  } else {
    auto e = find_user(user, {});
    if (!e)
      return e.error();
    if (!*e)
      return res_t{}; // no such user: another plugin may know her
    dn = (*e)->dn;
  }
  auto ok = dir_.bind(dn, pw);
  if (!ok)
    return ok.error();
  return res_t{*ok};
}

caf::expected<bool> site::exists(const std::string& user) {
  auto e = find_user(user, {});
  if (!e)
    return e.error();
  return e->has_value();
}

caf::expected<std::vector<std::string>> site::list_users() {
  auto& c = cfg();
  // The filter with $user as "*" (a presence match, RFC 4515 §3): every
  // user it would find; $domain escaped as always.
  auto all = expand(c.filter, "*", c.domain, [](std::string_view v) {
    return v == "*" ? std::string{v} : escape_filter_value(v);
  });
  auto found = dir_.search(c.base, scope::subtree, all, {c.uid_attribute});
  if (!found)
    return found.error();
  std::vector<std::string> out;
  for (auto& e : *found)
    if (auto name = e.first(c.uid_attribute))
      out.push_back(std::move(*name));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

caf::expected<xml::element_ptr> site::vcard(const std::string& user) {
  auto& c = cfg();
  auto e = find_user(user, c.vcard_attrs);
  if (!e)
    return e.error();
  if (!*e)
    return xml::element_ptr{};
  auto v = render_vcard(c.vcard_template, c.vcard_attrs, **e);
  if (v == nullptr)
    return xml::element_ptr{std::make_shared<xml::element>("vCard",
                                                           "vcard-temp")};
  return v;
}

caf::expected<std::optional<std::string>>
site::member_name(const std::string& value) {
  using res_t = std::optional<std::string>;
  auto& c = cfg();
  if (c.members_by_name())
    return res_t{value};
  // uid=alice,ou=people,...: the name is in the DN.
  auto rdn = first_rdn(value);
  if (rdn && iequals(rdn->first, c.uid_attribute))
    return res_t{rdn->second};
  // Otherwise the member's entry says it (cn=Alice Liddell,...).
  auto e = search(value, scope::base, "(objectClass=*)", {c.uid_attribute});
  if (!e)
    return e.error();
  if (e->empty())
    return res_t{};
  return e->front().first(c.uid_attribute);
}

caf::expected<hooks::roster> site::roster(const std::string& user) {
  auto& c = cfg();
  std::string me;
  if (c.members_by_name()) {
    me = user;
  } else if (!c.base.empty()) {
    auto e = find_user(user, {});
    if (!e)
      return e.error();
    if (!*e)
      return hooks::roster{};
    me = (*e)->dn;
  } else {
    me = dn_for(c.bind_dn_template, user, c.domain);
  }
  auto filter = "(&" + c.group_filter + "(" + c.member_attribute + "="
                + escape_filter_value(me) + "))";
  auto groups = search(c.group_base, scope::subtree, filter,
                       {c.group_name_attribute, c.member_attribute});
  if (!groups)
    return groups.error();
  roster_fold fold;
  auto self = jid::make(user, c.domain, "");
  for (auto& g : *groups) {
    auto name = g.first(c.group_name_attribute);
    if (!name)
      if (auto rdn = first_rdn(g.dn))
        name = rdn->second;
    std::vector<jid> members;
    for (auto& v : g.values(c.member_attribute)) {
      auto m = member_name(v);
      if (!m)
        return m.error();
      if (auto j = *m ? jid::make(**m, c.domain, "") : std::nullopt)
        members.push_back(std::move(*j));
    }
    if (self)
      fold.add_group(name.value_or(""), members, *self);
  }
  return fold.finish("ldap");
}

} // namespace dja::plugins::ldap
