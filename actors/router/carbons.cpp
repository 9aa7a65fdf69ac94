// XEP-0280 Message Carbons in the router shard of the user: the shard is
// where a message for a user meets the list of all the user's resources,
// here and on the other nodes of a cluster (the directory), so the
// copies start here. §7: a message delivered to some resources is copied
// in <received/> to the others; §8: a message a resource sent is copied
// in <sent/> to the others (session/carbons.cpp asks with
// msg::sent_copy). Each session decides whether its client enabled
// carbons (the shard does not track it: a resource on another node is
// reached with deliver_mode::carbon and its own session decides there).
// §11: a carbon arriving from outside is stripped of its wrapper.

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/carbons.hpp"
#include "router/shard.hpp"

namespace dja {

bool shard_state::carbons_served(const jid& user) const {
  auto v = vhosts->find(user.domain());
  return v != vhosts->end() && v->second.carbons;
}

void shard_state::untrust_carbons(msg::route& r) {
  if (r.stanza->name != "message")
    return;
  if (auto clean = carbons::strip_forged(*r.stanza)) {
    // §11: only this server makes carbons, and they never pass here.
    spdlog::info("carbons: forged <received/>/<sent/> from {} to {} "
                 "removed", r.from.str(), r.to.str());
    r.stanza = std::move(clean);
  }
}

void shard_state::received_copies(const msg::route& r,
                                  const std::string& got) {
  if (carbons_served(r.to))
    received_copies(r, std::vector<std::string>{got});
}

void shard_state::received_copies(const msg::route& r,
                                  std::vector<std::string> got) {
  if (got.empty() || !carbons_served(r.to)
      || !carbons::eligible(*r.stanza, carbons::direction::received))
    return;
  auto& except = got;
  // A message from one of the user's resources to another: the sender
  // has it already.
  if (r.from.bare_str() == r.to.bare_str() && !r.from.resource().empty())
    except.push_back(r.from.resource());
  copy_to_others(r.to, r.stanza, carbons::direction::received, except);
}

void shard_state::sent_copies(const msg::sent_copy& s) {
  // The session checked that carbons are served and the message is
  // eligible (session/carbons.cpp).
  copy_to_others(s.full, s.stanza, carbons::direction::sent,
                 {s.full.resource()});
}

void shard_state::copy_to_others(const jid& user,
                                 const xml::element_ptr& original,
                                 carbons::direction d,
                                 const std::vector<std::string>& except) {
  auto skip = [&](const std::string& res) {
    return std::find(except.begin(), except.end(), res) != except.end();
  };
  xml::element_ptr copy; // made once, when some resource may want it
  auto wrapped = [&] {
    if (!copy)
      copy = carbons::wrap(original, user, d);
    return copy;
  };
  if (auto rs = find_user(user))
    for (auto& e : *rs)
      if (!skip(e.resource))
        self->send(e.session, msg::carbon{wrapped()});
  for (auto& e : remote_of(user))
    if (!skip(e.resource))
      hop(e.node, cluster::deliver_mode::carbon, wrapped(),
          user.bare().with_resource(e.resource), [](bool) {});
}

} // namespace dja
