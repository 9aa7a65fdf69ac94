#pragma once

// The room archive over XEP-0313 (MUC MAM, §4 queries to the room's bare
// JID with XEP-0059 paging): answered from the room's last
// `archive_size` messages (room_state::history), the same messages the
// history on entering comes from. The wire format is plugins/mam's
// (plugins/mam/common/query.hpp).

#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

/// An iq in urn:xmpp:mam:2 to the room: the form (get) or a query
/// (set): <result/> messages then the <fin/>.
void on_archive_query(room_state& st, const xml::element_ptr& s,
                      const jid& from);

} // namespace dja::plugins::muc
