#pragma once

// The error a store answers when a per-account bound refuses a write
// (roster.max_items in plugins/roster/serve.cpp): a value the caller can
// tell from a storage failure, so the client gets the policy error
// (<not-allowed/>) instead of <internal-server-error/>.

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace dja {

/// A write refused by a bound; `what` says which (for the log).
inline caf::error quota_reached(std::string what) {
  return caf::error{1, caf::atom("quota"), caf::make_message(std::move(what))};
}

/// Is `err` a quota_reached() error? (CAF 0.17: category() of an empty
/// error is undefined, hence the first test.)
inline bool is_quota_reached(const caf::error& err) {
  return static_cast<bool>(err) && err.category() == caf::atom("quota");
}

} // namespace dja
