// XEP-0280 Message Carbons on a session: the enable/disable iqs (§4, §5;
// the state is this session's), the <sent/> copies of what the client
// sends (§8: handed to the user's router shard, router/carbons.cpp), and
// the copies the router sends here, delivered only while enabled (§7).
// Only on vhosts with the carbons plugin (vhost_info::carbons).

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/carbons.hpp"
#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "session/session_state.hpp"

namespace dja {

bool session_state::on_carbons_iq(const xml::element_ptr& e,
                                  const jid& target) {
  auto* q = e->first_element();
  if (!vhost || !vhost->carbons || q->ns != ns::carbons)
    return false;
  // §4: to the own account (no `to`, the own bare JID, or the server).
  if (target != bare && !(target.local().empty()
                          && target.domain() == full.domain())) {
    reply_error(*e, "forbidden");
    return true;
  }
  if (e->attr_or("type") != "set"
      || (q->name != "enable" && q->name != "disable")) {
    reply_error(*e, "bad-request");
    return true;
  }
  // §10.1: enabling twice (or disabling twice) is not an error.
  carbons_enabled = q->name == "enable";
  spdlog::debug("{}: carbons {}", full.str(),
                carbons_enabled ? "enabled" : "disabled");
  to_client(std::make_shared<xml::element>(errors::iq_result(*e)));
  return true;
}

void session_state::copy_sent(const xml::element_ptr& e, const jid& to) {
  // §8: a copy to the user's other resources, whether or not this one
  // enabled carbons. A message to the own account is copied as received
  // by the router instead (it reaches the own resources that way).
  if (!vhost || !vhost->carbons || e->name != "message"
      || to.bare_str() == bare.str()
      || !carbons::eligible(*e, carbons::direction::sent))
    return;
  self->send(ctx->router.shard_for(full), msg::sent_copy{full, e});
}

void session_state::on_carbon(const xml::element_ptr& e) {
  if (!carbons_enabled || closed)
    return;
  // §7, §8: the wrapper is addressed to the receiving resource.
  auto copy = std::make_shared<xml::element>(*e);
  copy->set_attr("to", full.str());
  deliver_local(std::move(copy));
}

} // namespace dja
