// XEP-0191 Blocking Command on a session: the blocklist get, block and
// unblock iqs (stored through the blocking.* hooks, plugins/blocking/),
// the pushes to the user's resources, and the enforcement of the list on
// every stanza in and out. The list lives in the session (loaded when it
// starts, kept current by the pushes), so no plugin is asked per stanza.
// What happens without a session of the user (subscriptions, probes,
// offline delivery) is enforced by the router and the plugin.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "session/session_state.hpp"

namespace dja {

namespace {

std::vector<std::string> strings(const std::vector<jid>& items) {
  std::vector<std::string> out;
  out.reserve(items.size());
  for (auto& j : items)
    out.push_back(j.str());
  return out;
}

/// The items of a <block/>, <unblock/> or <blocklist/> (in a push they
/// were checked before).
std::vector<jid> parse_items(const xml::element& q) {
  std::vector<jid> out;
  for (auto* c : q.elements())
    if (c->name == "item" && c->ns == ns::blocking)
      if (auto j = jid::parse(c->attr_or("jid")))
        out.push_back(std::move(*j));
  return out;
}

/// <iq type='set'><NAME xmlns='urn:xmpp:blocking'><item/>...</NAME></iq>
/// (XEP-0191 §3.3-§3.5); `to` is set by each session.
xml::element_ptr make_push(const char* name, const std::vector<jid>& items) {
  static std::atomic<uint64_t> counter{0};
  auto iq = std::make_shared<xml::element>("iq", ns::client);
  iq->set_attr("type", "set");
  iq->set_attr("id", "blocking-push-" + std::to_string(++counter));
  auto& q = iq->add_child(xml::element{name, ns::blocking});
  for (auto& j : items)
    q.add_child(xml::element{"item", ns::blocking}).set_attr("jid", j.str());
  return iq;
}

/// The user's own account and server are never blocked (a client that
/// blocks its own domain would lose its pings and disco).
bool exempt(const jid& j, const jid& bare) {
  return j.bare() == bare
         || (j.local().empty() && j.is_bare() && j.domain() == bare.domain());
}

} // namespace

void session_state::load_blocklist() {
  // await: stanzas in and out wait until the list is known, so none
  // slips through at the start of the session.
  self->request(vhost->actor, caf::infinite, hooks::blocking_list{bare})
    .await(
      [this](std::vector<std::string>& items) { blocked = blocklist{items}; },
      [this](caf::error& err) {
        spdlog::error("{}: block list not loaded, nothing is blocked in "
                      "this session: {}",
                      full.str(), caf::to_string(err));
      });
}

void session_state::on_blocking_iq(const xml::element_ptr& e) {
  auto q = e->first_element();
  auto type = e->attr_or("type");
  if (type == "get") {
    if (q->name != "blocklist") {
      reply_error(*e, "bad-request");
      return;
    }
    blocklist_interested = true; // §3.2: it gets the pushes from now on
    self->request(vhost->actor, caf::infinite, hooks::blocking_list{bare})
      .then(
        [this, e](std::vector<std::string>& items) {
          auto reply = std::make_shared<xml::element>(errors::iq_result(*e));
          reply->remove_attr("from");
          auto& l = reply->add_child(xml::element{"blocklist", ns::blocking});
          for (auto& s : items)
            l.add_child(xml::element{"item", ns::blocking}).set_attr("jid", s);
          to_client(std::move(reply));
        },
        [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
    return;
  }
  if (q->name != "block" && q->name != "unblock") {
    reply_error(*e, "bad-request");
    return;
  }
  std::vector<jid> items;
  for (auto* c : q->elements()) {
    if (c->name != "item" || c->ns != ns::blocking)
      continue;
    auto attr = c->attr("jid");
    if (attr == nullptr) { // the schema requires it
      reply_error(*e, "bad-request");
      return;
    }
    auto j = jid::parse(*attr);
    if (!j) {
      reply_error(*e, "jid-malformed");
      return;
    }
    if (std::find(items.begin(), items.end(), *j) == items.end())
      items.push_back(std::move(*j));
  }
  if (q->name == "block") {
    if (items.empty()) { // §3.3: at least one item
      reply_error(*e, "bad-request");
      return;
    }
    block(e, std::move(items));
  } else {
    unblock(e, std::move(items)); // none: unblock all (§3.5)
  }
}

void session_state::block(const xml::element_ptr& e, std::vector<jid> items) {
  auto strs = strings(items);
  self
    ->request(vhost->actor, caf::infinite, hooks::blocking_block{bare, strs})
    .then(
      [this, e, items, strs](bool) {
        // In force here before the result (the client may send the next
        // stanza at once); the push brings it to the other sessions.
        for (auto& j : items)
          blocked.add(j);
        to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
        auto& shard = ctx->router.shard_for(bare);
        self->send(shard,
                   msg::blocklist_push{bare, make_push("block", items)});
        if (!vhost_has_roster())
          return;
        // §3.3: contacts allowed to see our presence get unavailable
        // presence from every available resource.
        self->request(vhost->actor, caf::infinite, hooks::roster_get{bare})
          .then(
            [this, added = blocklist{strs}](hooks::roster& r) {
              auto& shard = ctx->router.shard_for(bare);
              for (auto& item : r.items)
                if (item.subscribed_from() && added.matches(item.contact))
                  self->send(shard, msg::unavailable_to{bare, item.contact});
            },
            [this](caf::error& err) {
              spdlog::error("{}: roster unavailable after a block: {}",
                            full.str(), caf::to_string(err));
            });
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
}

void session_state::unblock(const xml::element_ptr& e,
                            std::vector<jid> items) {
  self
    ->request(vhost->actor, caf::infinite,
              hooks::blocking_unblock{bare, strings(items)})
    .then(
      [this, e, items](std::vector<std::string>& removed) {
        if (items.empty()) // as for a block: in force here at once
          blocked.clear();
        for (auto& j : items)
          blocked.remove(j);
        to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
        self->send(ctx->router.shard_for(bare),
                   msg::blocklist_push{bare, make_push("unblock", items)});
        if (!vhost_has_roster() || removed.empty())
          return;
        blocklist gone{removed};
        auto rest = blocked; // what stays blocked
        self->request(vhost->actor, caf::infinite, hooks::roster_get{bare})
          .then(
            [this, gone, rest](hooks::roster& r) {
              auto& shard = ctx->router.shard_for(bare);
              for (auto& item : r.items) {
                if (!gone.matches(item.contact) || rest.matches(item.contact))
                  continue;
                // §3.4: our current presence to who may see it ...
                if (item.subscribed_from())
                  self->send(shard, msg::presence_to{bare, item.contact});
                // ... and a probe, since their presence was dropped while
                // blocked (RFC 6121 §4.3 as at login).
                if (item.subscribed_to()) {
                  auto probe = std::make_shared<xml::element>("presence",
                                                              ns::client);
                  probe->set_attr("type", "probe");
                  probe->set_attr("from", bare.str());
                  probe->set_attr("to", item.contact.str());
                  route(std::move(probe), item.contact);
                }
              }
            },
            [this](caf::error& err) {
              spdlog::error("{}: roster unavailable after an unblock: {}",
                            full.str(), caf::to_string(err));
            });
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
}

void session_state::on_blocklist_push(const xml::element_ptr& e) {
  auto q = e->first_element();
  if (q == nullptr)
    return;
  auto items = parse_items(*q);
  if (q->name == "block") {
    for (auto& j : items)
      blocked.add(j);
    // §3.3: directed presence recipients now blocked see us leave.
    for (auto i = directed.begin(); i != directed.end();) {
      auto to = jid::parse(*i);
      if (!to || !blocked.matches(*to)) {
        ++i;
        continue;
      }
      auto u = std::make_shared<xml::element>("presence", ns::client);
      u->set_attr("type", "unavailable");
      u->set_attr("from", full.str());
      u->set_attr("to", to->str());
      route(std::move(u), *to);
      i = directed.erase(i);
    }
  } else if (items.empty()) {
    blocked.clear();
  } else {
    for (auto& j : items)
      blocked.remove(j);
  }
  if (!blocklist_interested)
    return;
  auto out = std::make_shared<xml::element>(*e);
  out->set_attr("to", full.str());
  to_client(std::move(out));
}

bool session_state::blocked_inbound(const xml::element& e) {
  if (blocked.empty())
    return false;
  auto from = jid::parse(e.attr_or("from"));
  if (!from || exempt(*from, bare) || !blocked.matches(*from))
    return false;
  // §3.3: presence and messages are dropped without a word (a message to
  // an offline user with offline storage gets no error either, so the
  // user looks offline; XEP-0191 lets a server bounce messages, which
  // would tell the contact); an iq get/set must be answered.
  auto type = e.attr_or("type");
  if (e.name == "iq" && (type == "get" || type == "set"))
    route(errors::stanza_error(e, "service-unavailable"), *from);
  return true;
}

bool session_state::blocked_outbound(const xml::element& e, const jid& to) {
  if (blocked.empty() || exempt(to, bare) || !blocked.matches(to))
    return false;
  // §3.3: not routed; the user learns why. Errors and iq results are
  // dropped (never answer an error).
  if (errors::is_error(e) || (e.name == "iq" && e.attr_or("type") == "result"))
    return true;
  auto reply = std::make_shared<xml::element>(
    *errors::stanza_error(e, "not-acceptable"));
  if (auto err = reply->child("error", ns::client)) {
    err->set_attr("type", "cancel"); // as XEP-0191 Example 13
    err->add_child(xml::element{"blocked", ns::blocking_errors});
  }
  to_client(std::move(reply));
  return true;
}

bool session_state::iq_to_blocking_user(const xml::element_ptr& e,
                                        const jid& target,
                                        const vhost_info& v) {
  if (!v.serves<hooks::blocking_list>() || target.local().empty() || target == bare)
    return false;
  // The server answers for `target` (vCard, last activity, ...): not
  // for a JID that `target` blocks (§3.3: iq get/set -> unavailable).
  const auto* vp = &v;
  self
    ->request(v.actor, caf::infinite, hooks::blocking_check{target, full})
    .then(
      [this, e, target, vp](bool is_blocked) {
        if (is_blocked)
          reply_error(*e, "service-unavailable");
        else
          iq_to_vhost(e, target, *vp);
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
  return true;
}

} // namespace dja
