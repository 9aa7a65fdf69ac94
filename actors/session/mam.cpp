// XEP-0313 archive iqs on a session: an iq get/set in urn:xmpp:mam:2 to
// the own bare JID (or another account of a served domain) goes to the
// `archive.query` hook, whose answer is several stanzas: the <result/>
// messages of a query, then the iq reply. They go to the client in that
// order (XEP-0313 §4.3: the results come before the <fin/>).

#include <caf/all.hpp>

#include "hooks/catalogue.hpp"
#include "session/session_state.hpp"

namespace dja {

bool session_state::on_mam_iq(const xml::element_ptr& e, const jid& target) {
  auto v = ctx->find_vhost(target.domain());
  if (v == nullptr || !v->serves<hooks::archive_query>())
    return false; // the iq hook's default: <service-unavailable/>
  self->request(v->actor, caf::infinite, hooks::archive_query{e, full, target})
    .then(
      [this](std::vector<xml::element_ptr>& out) {
        for (auto& s : out)
          to_client(std::move(s));
      },
      [this, e](caf::error&) { reply_error(*e, "internal-server-error"); });
  return true;
}

} // namespace dja
