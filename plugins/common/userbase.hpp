#pragma once

// The answers the blocking user-base plugins (sql, ldap) give from what
// their worker read: each worker calls its store and passes the result
// here, so "no such user" declines to the next plugin, a failure is
// logged and replied as an error (the core answers
// <temporary-auth-failure/> or <internal-server-error/>, never a wrong
// password), and the avatar hash (XEP-0153) comes from the same vCard
// the iq get serves.

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/result.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/scope.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins::userbase {

/// auth.check_password from a check: nullopt = no such user (declined).
inline caf::result<hooks::answer<bool>>
password(const scope& s, const caf::expected<std::optional<bool>>& ok) {
  if (!ok)
    return s.failed("check_password", ok.error());
  if (!*ok)
    return hooks::answer<bool>::decline(); // no such user here
  return hooks::answer<bool>::handled(**ok);
}

/// auth.user_exists: not found is declined (another plugin may know her).
inline caf::result<hooks::answer<bool>>
exists(const scope& s, const caf::expected<bool>& found) {
  if (!found)
    return s.failed("user_exists", found.error());
  if (!*found)
    return hooks::answer<bool>::decline();
  return hooks::answer<bool>::handled(true);
}

/// auth.list_users.
inline caf::result<hooks::answer<std::vector<std::string>>>
users(const scope& s, caf::expected<std::vector<std::string>> all) {
  if (!all)
    return s.failed("list_users", all.error());
  return hooks::answer<std::vector<std::string>>::handled(std::move(*all));
}

/// roster.load_item: the items of `roster` for `contact`.
inline caf::result<hooks::answer<std::vector<hooks::roster_item>>>
load_item(const scope& s, const caf::expected<hooks::roster>& roster,
          const jid& contact) {
  using result = hooks::answer<std::vector<hooks::roster_item>>;
  if (!roster)
    return s.failed("roster", roster.error());
  std::vector<hooks::roster_item> out;
  for (auto& it : roster->items)
    if (it.contact == contact.bare())
      out.push_back(it);
  return result::handled(std::move(out));
}

/// An iq get vcard-temp a user lookup cannot serve, answered: declined
/// for another domain, <bad-request/> for another payload,
/// <item-not-found/> for the domain itself; nullopt when it asks for a
/// user's vCard (XEP-0054 §3.2).
inline std::optional<docs::reply_t>
vcard_get_refusal(const hooks::iq_request& r, const std::string& domain) {
  if (r.to.domain() != domain)
    return docs::reply_t::decline();
  auto q = r.stanza->first_element();
  if (q == nullptr || q->name != "vCard" || q->ns != vcard::ns_vcard)
    return docs::error(r, "bad-request");
  if (r.to.local().empty())
    return docs::error(r, "item-not-found");
  return std::nullopt;
}

/// presence.alter_available (XEP-0153): the photo hash of the vCard
/// `load` reads (a failure logged, the presence going out as is).
template <class Load>
hooks::answer<hooks::filter_verdict>
avatar(vcard::avatar_cache& cache, const scope& s,
       const hooks::presence_alter_available& r, Load load) {
  return cache.alter(r, s.domain,
                     [&](const std::string& local)
                       -> caf::expected<xml::element_ptr> {
                       caf::expected<xml::element_ptr> v = load(local);
                       if (!v)
                         return s.failed("vcard", v.error());
                       return v;
                     });
}

} // namespace dja::plugins::userbase
