// The roster.* hooks over a roster::backend (plugins/roster/serve.hpp):
// the logic of roster.memory, roster.sqlite and roster.pgsql, written
// once.

#include "plugins/roster/serve.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/quota.hpp"

namespace dja::plugins::roster {

namespace {

using hooks::answer;
using items = std::vector<hooks::roster_item>;

struct context {
  settings cfg;
  std::shared_ptr<backend> store;

  bool ours(const jid& user) const {
    return cfg.scope.ours(user);
  }

  caf::error failed(const char* op, const caf::error& err) const {
    return cfg.scope.failed(op, err);
  }

  const std::string& domain() const {
    return cfg.scope.domain;
  }

  /// The bound: may `user` have a record for `item`'s contact? Only a new
  /// record beyond max_items is refused.
  caf::error admit(const jid& user, const hooks::roster_item& item) const {
    auto found = store->load(domain(), user.local(), item.contact.str());
    if (!found)
      return failed("set_item", found.error());
    if (!found->empty())
      return {};
    auto n = store->count(domain(), user.local());
    if (!n)
      return failed("set_item", n.error());
    if (*n < cfg.max_items)
      return {};
    spdlog::warn("{}: vhost {}: roster of {} is full ({} records, max_items "
                 "= {}): new {} for {} refused",
                 cfg.scope.tag, domain(), user.local(), *n, cfg.max_items,
                 item.listed ? "item" : "subscription request",
                 item.contact.str());
    return quota_reached("roster of " + user.bare_str() + " is full");
  }

  template <class T>
  caf::result<answer<T>> reply(const char* op, caf::expected<T> r) const {
    if (!r)
      return failed(op, r.error());
    return answer<T>::handled(std::move(*r));
  }
};

/// The item as stored: bare contact, groups sorted without duplicates.
hooks::roster_item normalized(hooks::roster_item item) {
  item.contact = item.contact.bare();
  auto& g = item.groups;
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return item;
}

} // namespace

caf::behavior serve(caf::event_based_actor*, settings cfg,
                    std::shared_ptr<backend> store) {
  auto c = std::make_shared<context>(context{std::move(cfg),
                                             std::move(store)});
  return {
    [c](const hooks::roster_get& r) -> caf::result<answer<hooks::roster>> {
      if (!c->ours(r.user))
        return answer<hooks::roster>::decline();
      return c->reply("get", c->store->get(c->domain(), r.user.local()));
    },
    [c](const hooks::roster_load_item& r) -> caf::result<answer<items>> {
      if (!c->ours(r.user))
        return answer<items>::decline();
      return c->reply("load_item",
                      c->store->load(c->domain(), r.user.local(),
                                     r.contact.bare_str()));
    },
    [c](const hooks::roster_set_item& r) -> caf::result<answer<std::string>> {
      if (!c->ours(r.user))
        return answer<std::string>::decline();
      auto item = normalized(r.item);
      if (auto err = c->admit(r.user, item))
        return err;
      return c->reply("set_item",
                      c->store->set(c->domain(), r.user.local(), item));
    },
    [c](const hooks::roster_remove_item& r)
      -> caf::result<answer<std::string>> {
      if (!c->ours(r.user))
        return answer<std::string>::decline();
      return c->reply("remove_item",
                      c->store->remove(c->domain(), r.user.local(),
                                       r.contact.bare_str()));
    },
    [c](const hooks::roster_wipe& r) -> caf::result<answer<bool>> {
      if (!c->ours(r.user))
        return answer<bool>::decline();
      if (auto err = c->store->wipe(c->domain(), r.user.local()))
        return c->failed("wipe", err);
      spdlog::info("{}: vhost {}: roster of {} wiped", c->cfg.scope.tag,
                   c->domain(), r.user.local());
      return answer<bool>::handled(true);
    },
  };
}

manifest describe() {
  manifest m;
  m.hooks = {hooks::id<hooks::roster_get>, hooks::id<hooks::roster_load_item>,
             hooks::id<hooks::roster_set_item>,
             hooks::id<hooks::roster_remove_item>,
             hooks::id<hooks::roster_wipe>};
  return m;
}

std::vector<option_spec> options(std::vector<option_spec> own) {
  own.push_back(
    {"max_items", option_type::integer, false,
     "records per user's roster (items and pending requests), 1..1000000 "
     "(default 1000); a roster set beyond it gets <not-allowed/>",
     [](const toml::node& v) -> std::string {
       auto n = v.value_or(int64_t{0});
       return n >= 1 && n <= 1000000 ? "" : "an integer in 1..1000000";
     }});
  return own;
}

settings settings_of(const spawn_context& ctx, std::string tag) {
  settings s;
  s.scope = {ctx.domain, std::move(tag)};
  s.max_items = static_cast<size_t>(
    ctx.options["max_items"].value_or(int64_t{1000}));
  return s;
}

} // namespace dja::plugins::roster
