#pragma once

// What the iq handlers of the document features (vcard, private, last)
// share: the reply type of the iq hooks, an error reply, and "is this
// request about the sender's own account".

#include <memory>
#include <string_view>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"

namespace dja::plugins::docs {

using reply_t = hooks::answer<xml::element_ptr>;

/// The stanza error `cond` (with an optional text) as the reply to `r`.
inline reply_t error(const hooks::iq_request& r, const char* cond,
                     std::string_view text = {}) {
  return reply_t::handled(errors::stanza_error(*r.stanza, cond, text));
}

/// An empty result to `r`.
inline reply_t empty_result(const hooks::iq_request& r) {
  return reply_t::handled(
    std::make_shared<xml::element>(errors::iq_result(*r.stanza)));
}

/// Is `r` addressed to the sender's own account (her bare JID)?
inline bool own(const hooks::iq_request& r) {
  return !r.from.local().empty() && r.to.local() == r.from.local()
         && r.to.domain() == r.from.domain();
}

} // namespace dja::plugins::docs
