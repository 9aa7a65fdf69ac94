#pragma once

// Where a store-backed feature plugin runs (plugins/auth/serve.cpp,
// plugins/roster/serve.cpp): its vhost's domain and its log tag, with the
// two things every such plugin does with them: tell its own users from
// others (declined, so another plugin of the chain may serve them) and
// log a storage failure before replying it as an error (the core then
// fails closed).

#include <string>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "common/jid.hpp"

namespace dja::plugins {

struct scope {
  std::string domain;
  std::string tag; ///< the plugin type's name

  /// Is `user` an account of this vhost (not the domain itself)?
  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Logs a failure of `op` and returns the error replied to the vhost.
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("{}: vhost {}: {}: {}", tag, domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           tag + ": " + op + " failed");
  }
};

} // namespace dja::plugins
