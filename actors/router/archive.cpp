// Message archiving on the delivery path (XEP-0313 §5, XEP-0359): the
// router shard of a message's recipient gives each archivable message
// one id, tells the vhosts of its local sender and recipient
// (`archive.store`, a notification: the archive plugins batch their
// writes off this path) and stamps the recipient's copy with
// <stanza-id by='recipient@domain'/> before it is delivered, stored
// offline or hopped to another node, so that offline storage and the
// archive agree on the id.

#include <caf/all.hpp>

#include "common/stanza_id.hpp"
#include "router/shard.hpp"

namespace dja {

namespace {

/// The vhost of `user` (a local account) if a plugin of it archives.
const vhost_info* archiving(const vhost_table& vhosts, const jid& user) {
  if (user.local().empty())
    return nullptr;
  auto v = vhosts.find(user.domain());
  return v != vhosts.end() && v->second.serves<hooks::archive_store>()
           ? &v->second
           : nullptr;
}

} // namespace

void shard_state::archive(msg::route& r) {
  const auto& s = *r.stanza;
  if (s.name != "message" || !stanza_id::archivable(s))
    return;
  auto tv = archiving(*vhosts, r.to);
  auto fv = archiving(*vhosts, r.from);
  if (tv == nullptr && fv == nullptr)
    return;
  auto to_bare = r.to.bare_str();
  auto from_bare = r.from.bare_str();
  // Routed again after its session went away (session.cpp give_back):
  // archived when it was first routed.
  if (stanza_id::issued(s, to_bare))
    return;
  // XEP-0359 §3.3: ids the sender claims in our name are removed.
  xml::element_ptr stored = r.stanza;
  if (stanza_id::has(s, to_bare) || stanza_id::has(s, from_bare)) {
    auto clean = std::make_shared<xml::element>(s);
    stanza_id::strip(*clean, to_bare);
    stanza_id::strip(*clean, from_bare);
    stored = std::move(clean);
  }
  auto now = stanza_id::now_us();
  auto id = stanza_id::make(to_bare, s.attr_or("from"), now);
  hooks::archive_store req{stored,
                           r.from,
                           r.to,
                           fv ? id : std::string{},
                           tv ? id : std::string{},
                           now,
                           tv != nullptr && find_user(r.to) != nullptr};
  if (tv)
    self->send(tv->actor, req);
  if (fv && fv != tv)
    self->send(fv->actor, req);
  if (tv) {
    auto out = std::make_shared<xml::element>(*stored);
    stanza_id::add(*out, to_bare, id);
    r.stanza = std::move(out);
  }
}

} // namespace dja
