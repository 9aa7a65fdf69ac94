// Roster management on a session (RFC 6121 §2): get (with versioning,
// §2.6), set, remove, and pushes to every resource that asked for the
// roster. Storage is the `roster.*` hooks (plugins/roster/).

#include <algorithm>
#include <set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/quota.hpp"
#include "common/roster_xml.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

constexpr const char* roster_ns = roster_xml::ns;

} // namespace

bool in_roster(const hooks::roster_item& item) {
  // A subscription request alone (Pending In) does not put the contact
  // in the roster (RFC 6121 §3.1.3); a contact that was listed stays
  // listed, as None + Pending In too (Appendix A).
  return item.listed;
}

bool session_state::on_roster_iq(const xml::element_ptr& e,
                                 const jid& target) {
  if (target.local().empty())
    return false; // to the server itself: not a roster (the iq default)
  // RFC 6121 §2.3.3 (and likewise §2.1.3 for a get): only the account's
  // own resources read or change its roster.
  if (target != bare) {
    reply_error(*e, "forbidden");
    return true;
  }
  if (!vhost_has_roster())
    return false;
  if (e->attr_or("type") == "get")
    roster_get(e);
  else
    roster_set(e);
  return true;
}

void session_state::roster_get(const xml::element_ptr& e) {
  roster_interested = true;
  auto ver = e->first_element()->attr("ver");
  self->request(vhost->actor, caf::infinite, hooks::roster_get{bare})
    .then(
      [this, e, ver = ver ? std::optional<std::string>{*ver} : std::nullopt](
        hooks::roster& r) {
        auto reply = std::make_shared<xml::element>(errors::iq_result(*e));
        reply->remove_attr("from");
        // RFC 6121 §2.6.3: an unchanged roster is an empty result.
        if (ver && !r.version.empty() && *ver == r.version) {
          to_client(std::move(reply));
          return;
        }
        auto& q = reply->add_child(xml::element{"query", roster_ns});
        if (ver)
          q.set_attr("ver", r.version);
        for (auto& item : r.items)
          if (in_roster(item))
            q.add_child(roster_xml::item(item, false));
        to_client(std::move(reply));
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
}

void session_state::roster_set(const xml::element_ptr& e) {
  // A roster read from elsewhere (plugins/sql, plugins/http) with no
  // plugin that stores changes: the user may not change it, which is a
  // policy, not a failure (RFC 6120 §8.3.3.12).
  if (!vhost->serves<hooks::roster_set_item>()) {
    reply_error(*e, "not-allowed");
    return;
  }
  // RFC 6121 §2.3.3: exactly one item, a valid JID, groups unique and
  // not empty.
  auto q = e->first_element();
  auto items = q->elements();
  if (items.size() != 1 || items[0]->name != "item"
      || items[0]->ns != roster_ns) {
    reply_error(*e, "bad-request");
    return;
  }
  auto& it = *items[0];
  auto contact = jid::parse(it.attr_or("jid"));
  if (!contact || contact->is_full()) {
    reply_error(*e, "jid-malformed");
    return;
  }
  std::vector<std::string> groups;
  std::set<std::string> seen;
  for (auto* g : it.elements()) {
    if (g->name != "group")
      continue;
    auto name = g->text();
    if (name.empty()) {
      reply_error(*e, "not-acceptable");
      return;
    }
    if (!seen.insert(name).second) {
      reply_error(*e, "bad-request");
      return;
    }
    groups.push_back(name);
  }
  auto remove = it.attr_or("subscription") == "remove";
  auto name = it.attr_or("name");
  auto contact_jid = *contact;
  self
    ->request(vhost->actor, caf::infinite,
              hooks::roster_load_item{bare, contact_jid})
    .then(
      [=](std::vector<hooks::roster_item>& found) {
        if (remove) {
          if (found.empty()) {
            reply_error(*e, "item-not-found"); // §2.5.3
            return;
          }
          auto item = found.front();
          self
            ->request(vhost->actor, caf::infinite,
                      hooks::roster_remove_item{bare, contact_jid})
            .then(
              [=](std::string& version) {
                to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
                push_item(item, version, true);
                cancel_subscriptions(item);
              },
              [=](caf::error&) { reply_error(*e, "internal-server-error"); });
          return;
        }
        // The client sets name and groups; the subscription state is
        // the server's (§2.1.2.5: a subscription attribute is ignored).
        hooks::roster_item item;
        if (!found.empty())
          item = found.front();
        item.contact = contact_jid;
        item.name = name;
        item.groups = groups;
        item.listed = true; // she added it: a request alone is listed now
        self
          ->request(vhost->actor, caf::infinite,
                    hooks::roster_set_item{bare, item})
          .then(
            [=](std::string& version) {
              to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
              push_item(item, version, false);
            },
            [=](caf::error& err) {
              // A store's bound (roster.max_items) is a policy, not a
              // failure: <not-allowed/> (RFC 6120 §8.3.3.12).
              reply_error(*e, is_quota_reached(err) ? "not-allowed"
                                                    : "internal-server-error");
            });
      },
      [=](caf::error&) { reply_error(*e, "internal-server-error"); });
}

void session_state::cancel_subscriptions(const hooks::roster_item& item) {
  // RFC 6121 §2.5.2: removing a contact cancels both directions.
  auto send = [this, &item](const char* type) {
    auto p = std::make_shared<xml::element>("presence", ns::client);
    p->set_attr("type", type);
    p->set_attr("from", bare.str());
    p->set_attr("to", item.contact.str());
    route(std::move(p), item.contact);
  };
  bool to = item.subscribed_to();
  bool from = item.subscribed_from();
  if (to || item.ask_out)
    send("unsubscribe");
  if (from || item.pending_in)
    send("unsubscribed");
  if (from)
    self->send(ctx->router.shard_for(bare),
               msg::unavailable_to{bare, item.contact});
}

void session_state::push_item(const hooks::roster_item& item,
                              const std::string& version, bool removed) {
  if (!removed && !in_roster(item))
    return;
  self->send(ctx->router.shard_for(bare),
             msg::push_to_user{bare, roster_xml::push(item, version, removed)});
}

void session_state::on_roster_push(const xml::element_ptr& e) {
  if (!roster_interested)
    return;
  auto out = std::make_shared<xml::element>(*e);
  out->set_attr("to", full.str());
  to_client(std::move(out));
}

} // namespace dja
