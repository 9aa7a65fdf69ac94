#pragma once

// The router shard's refusal of a bind (msg::bind in common/messages.hpp)
// when the account has limits.max_resources resources bound already; the
// connection answers the bind iq with <resource-constraint/> (RFC 6120
// §7.6.2.1).

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace dja::msg {

/// The error a bind gets beyond limits.max_resources.
inline caf::error bind_refused() {
  return caf::error{1, caf::atom("resources")};
}

inline bool is_bind_refused(const caf::error& e) {
  return e.compare(1, caf::atom("resources")) == 0;
}

} // namespace dja::msg
