#pragma once

// The per-plugin series of one vhost (docs/metrics.md): for each plugin,
// its requests in flight and its restarts; for each hook it serves, the
// calls, declines, errors, timeouts and a latency histogram. Kept by the
// vhost actor (actors/vhost) that runs the chains, which is their only
// writer: no lock on the way of a hook call. The scrape reads them
// through the registry, which holds the table while its vhost lives.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "metrics/cells.hpp"

namespace dja::metrics {

/// One hook of one plugin.
struct hook_series {
  std::string hook; ///< its catalogue name ("roster.get")
  counter calls;    ///< requests (first, fold) and notifications sent
  counter declines; ///< answered `declined` (the chain went on)
  counter errors;   ///< failed: an error answer, a crash, down at the time
  counter timeouts; ///< no answer within the plugin's timeout_ms
  histogram duration; ///< request to answer, whatever the answer
};

/// One plugin of a vhost.
struct plugin_series {
  std::string plugin; ///< its type ("roster.sqlite")
  counter in_flight;  ///< requests sent and not answered yet
  counter restarts;   ///< the vhost restarted it after a crash
  std::vector<std::unique_ptr<hook_series>> hooks; ///< appended locked
};

/// The series of one vhost; registered while it lives.
class vhost_series {
public:
  /// A table for `vhost`, registered for scrapes until it is destroyed.
  static std::shared_ptr<vhost_series> make(std::string vhost);

  const std::string& vhost() const { return vhost_; }

  /// The series of plugin `idx` (config order), named `name`. Only the
  /// owning actor calls this.
  plugin_series& plugin(size_t idx, const std::string& name);

  /// The series of hook `hook` (its catalogue index; `name` its name)
  /// of plugin `idx`. Only the owning actor calls this.
  hook_series& hook(size_t idx, uint8_t hook, const char* name);

  /// For the scrape, under the registry's lock.
  const std::vector<std::unique_ptr<plugin_series>>& plugins() const {
    return plugins_;
  }

  explicit vhost_series(std::string vhost) : vhost_(std::move(vhost)) {}

private:
  std::string vhost_;
  std::vector<std::unique_ptr<plugin_series>> plugins_; ///< grown locked
  /// plugin idx * 64 + hook index -> its series (the owner's index).
  std::vector<hook_series*> index_;
};

/// Calls `f` for every vhost table alive, under the registry's lock.
void for_each_vhost(const std::function<void(const vhost_series&)>& f);

} // namespace dja::metrics
