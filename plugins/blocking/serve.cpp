#include "plugins/blocking/serve.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/blocklist.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"

namespace dja::plugins::blocking {

namespace {

using hooks::answer;
using strings = std::vector<std::string>;

struct context {
  std::string domain;
  std::string tag;
  std::shared_ptr<backend> store;

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Logs a storage failure and returns it (the vhost answers
  /// <internal-server-error/> or fails the hook closed).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("{}: vhost {}: {}: {}", tag, domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error, tag + ": " + op
                                                      + " failed");
  }

  /// Does `user` block `contact`? (Never the user's own account.)
  caf::expected<bool> blocks(const jid& user, const jid& contact) const {
    if (contact.bare() == user.bare())
      return false;
    auto items = store->list(user.local());
    if (!items)
      return failed("check", items.error());
    return blocklist{*items}.matches(contact);
  }
};

} // namespace

caf::behavior serve(caf::event_based_actor*, std::string domain,
                    std::string tag, std::shared_ptr<backend> store) {
  auto c = std::make_shared<context>(
    context{std::move(domain), std::move(tag), std::move(store)});
  return {
    [c](const hooks::blocking_list& r) -> caf::result<answer<strings>> {
      if (!c->ours(r.user))
        return answer<strings>::decline();
      auto items = c->store->list(r.user.local());
      if (!items)
        return c->failed("list", items.error());
      return answer<strings>::handled(std::move(*items));
    },
    [c](const hooks::blocking_block& r) -> caf::result<answer<bool>> {
      if (!c->ours(r.user))
        return answer<bool>::decline();
      if (auto err = c->store->add(r.user.local(), r.items))
        return c->failed("block", err);
      return answer<bool>::handled(true);
    },
    [c](const hooks::blocking_unblock& r) -> caf::result<answer<strings>> {
      if (!c->ours(r.user))
        return answer<strings>::decline();
      auto removed = c->store->remove(r.user.local(), r.items);
      if (!removed)
        return c->failed("unblock", removed.error());
      return answer<strings>::handled(std::move(*removed));
    },
    [c](const hooks::blocking_check& r) -> caf::result<answer<bool>> {
      if (!c->ours(r.user))
        return answer<bool>::decline();
      auto b = c->blocks(r.user, r.contact);
      if (!b)
        return b.error();
      return answer<bool>::handled(*b);
    },
    // A message for a user without a session: one from a blocked JID is
    // taken (dropped, XEP-0191 §3.3) before offline storage sees it.
    [c](const hooks::deliver& d)
      -> caf::result<answer<hooks::delivery_verdict>> {
      using result = answer<hooks::delivery_verdict>;
      auto from = jid::parse(d.stanza->attr_or("from"));
      if (!c->ours(d.to) || !from)
        return result::decline();
      auto b = c->blocks(d.to, *from);
      if (!b)
        return b.error(); // the router bounces it: never stored
      if (!*b)
        return result::decline();
      spdlog::debug("{}: vhost {}: {} blocks {}: stanza dropped", c->tag,
                    c->domain, d.to.bare_str(), from->str());
      return result::handled(hooks::delivery_verdict{true, {}});
    },
  };
}

manifest describe() {
  return manifest{{hooks::id<hooks::blocking_list>,
                   hooks::id<hooks::blocking_block>,
                   hooks::id<hooks::blocking_unblock>,
                   hooks::id<hooks::blocking_check>,
                   hooks::id<hooks::deliver>},
                  {},
                  {ns::blocking},
                  {},
                  {}};
}

} // namespace dja::plugins::blocking
