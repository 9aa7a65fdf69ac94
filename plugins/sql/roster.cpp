// The rosters of the `sql` plugin (plugins/sql/site.hpp): roster_sql rows
// folded per contact and shared groups (RFC 6121 §2.1), the pushes of
// roster_refresh_s (§2.1.6), and presence_sql for subscribers (§4.3.2).

#include <algorithm>
#include <map>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/jid.hpp"
#include "common/messages.hpp"
#include "common/roster_xml.hpp"
#include "plugins/common/roster_fold.hpp"
#include "plugins/sql/site.hpp"

namespace dja::plugins::sql {

namespace {

/// A contact column as a bare JID: "bob" is bob@domain.
std::optional<jid> contact_jid(const std::string& text,
                               const std::string& domain) {
  auto j = jid::parse(text.find('@') == std::string::npos
                        ? text + "@" + domain
                        : text);
  if (!j)
    return std::nullopt;
  return j->bare();
}

} // namespace

caf::expected<hooks::roster> site::roster(const std::string& user,
                                          bool fresh) {
  auto& c = cfg();
  roster_fold fold;
  if (!c.q.roster.empty()) {
    auto r = run(c.q.roster, user, {}, {}, !fresh);
    if (!r)
      return r.error();
    for (size_t i = 0; i < r->data.size(); ++i) {
      auto text = r->cell("contact", 0, i);
      auto contact = text ? contact_jid(*text, c.domain) : std::nullopt;
      if (!contact) {
        spdlog::warn("{}: roster_sql row of {} has no usable contact; "
                     "skipped", c.tag, user);
        continue;
      }
      auto sub = r->cell("subscription", 2, i).value_or("both");
      if (sub != "none" && sub != "to" && sub != "from" && sub != "both")
        sub = "both";
      fold.add(*contact, r->cell("name", 1, i).value_or(""), sub,
               r->cell("group", 3, i).value_or(""));
    }
  }
  if (!c.q.user_groups.empty() && !c.q.group_members.empty()) {
    auto groups = run(c.q.user_groups, user, {}, {}, !fresh);
    if (!groups)
      return groups.error();
    auto self = jid::make(user, c.domain, "");
    for (size_t g = 0; g < groups->data.size(); ++g) {
      auto group = groups->cell("", 0, g);
      if (!group)
        continue;
      auto members = run(c.q.group_members, user, {}, *group, !fresh);
      if (!members)
        return members.error();
      std::vector<jid> in;
      for (size_t m = 0; m < members->data.size(); ++m) {
        auto text = members->cell("", 0, m);
        if (auto contact = text ? contact_jid(*text, c.domain)
                                : std::nullopt)
          in.push_back(std::move(*contact));
      }
      if (self)
        fold.add_group(*group, in, *self);
    }
  }
  return fold.finish("sql");
}

std::vector<std::string> site::online_users() {
  std::lock_guard<std::mutex> guard{st_->online_mtx};
  return st_->online.users();
}

void site::refresh_rosters(const std::vector<std::string>& users) {
  auto changed = online_rosters::refresh(
    st_->online_mtx, st_->online, users,
    [this](const std::string& user) { return roster(user, true); },
    cfg().tag);
  if (changed > 0)
    st_->cache.clear(); // later reads see the change too
}

void site::invalidate(const hooks::cache_invalidate& n) {
  st_->cache.clear();
  std::vector<std::string> users;
  if (n.everyone())
    users = online_users();
  else
    users.push_back(n.scope.local());
  spdlog::info("{}: cache invalidated for {}", cfg().tag,
               n.everyone() ? std::string{"every user"} : n.scope.local());
  if (!cfg().q.roster.empty() || !cfg().q.user_groups.empty())
    refresh_rosters(users);
}

caf::expected<std::vector<xml::element_ptr>>
site::presence(const std::string& user, const jid& prober) {
  std::vector<xml::element_ptr> out;
  auto r = roster(user);
  if (!r)
    return r.error();
  auto subscribed = std::any_of(r->items.begin(), r->items.end(),
                                [&](const roster_item& it) {
                                  return it.contact == prober.bare()
                                         && it.subscribed_from();
                                });
  if (!subscribed)
    return out;
  auto rows = run(cfg().q.presence, user);
  if (!rows)
    return rows.error();
  for (size_t i = 0; i < rows->data.size(); ++i) {
    auto self = jid::make(user, cfg().domain,
                          rows->cell("resource", 2, i).value_or("site"));
    if (!self)
      continue;
    auto p = std::make_shared<xml::element>("presence", "jabber:client");
    p->set_attr("from", self->str());
    // RFC 6121 §4.7.2.1: show is one of away, chat, dnd, xa (absent:
    // available); anything else is left out.
    auto show = rows->cell("show", 0, i).value_or("");
    if (show == "away" || show == "chat" || show == "dnd" || show == "xa")
      p->add_child(xml::element{"show", "jabber:client"}).add_text(show);
    auto status = rows->cell("status", 1, i).value_or("");
    if (!status.empty())
      p->add_child(xml::element{"status", "jabber:client"})
        .add_text(status);
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace dja::plugins::sql
