// Rosters from the web service (plugins/http/roster.hpp).

#include "plugins/http/roster.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/http/convention.hpp"

namespace dja::plugins::http {

caf::expected<roster> roster_of(const config& cfg, const response& r) {
  if (!r.error.empty())
    return caf::make_error(caf::sec::runtime_error, r.error);
  if (r.status != 200)
    return caf::make_error(caf::sec::runtime_error,
                           "unexpected HTTP status "
                             + std::to_string(r.status));
  size_t skipped = 0;
  auto out = parse_roster(r.body, cfg.domain, skipped);
  if (out && skipped > 0)
    spdlog::warn("{}: {} roster entr{} without a valid JID or subscription "
                 "(skipped or defaulted)",
                 cfg.tag, skipped, skipped == 1 ? "y" : "ies");
  return out;
}

} // namespace dja::plugins::http
