#pragma once

// What every connection and session needs to know about the running
// server. Built once at start-up, immutable afterwards, shared read-only
// between threads.

#include <bitset>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "common/jid.hpp"
#include "common/limits.hpp"
#include "common/router_ref.hpp"

namespace dja::tls {
class context_set;
} // namespace dja::tls

namespace dja::s2s {
struct settings;
} // namespace dja::s2s

namespace dja::hooks {
/// The position of a hook in the catalogue's list
/// (actors/hooks/catalogue.hpp); only declared here, so that the core's
/// common types know no hook.
template <class Hook>
struct index;
} // namespace dja::hooks

namespace dja {

class connection_limits;
class login_throttle;
namespace sm {
class registry;
} // namespace sm

/// One served domain, as the core sees it.
struct vhost_info {
  std::string domain;
  caf::actor actor; ///< runs the hook chains (actors/vhost)
  /// The hooks some plugin of this vhost serves, by position in the
  /// catalogue's list.
  std::bitset<64> served;
  /// Pre-authentication stream features plugins declared (XEP-0077).
  bool inband_registration = false;
  /// COMPAT(libpurple): a client's forged `from` is corrected instead of
  /// ending the stream with <invalid-from/> (`correct_forged_from`).
  bool correct_forged_from = false;
  /// This vhost has a certificate (TLS possible).
  bool has_tls = false;
  /// XEP-0280 message carbons: some plugin declared urn:xmpp:carbons:2
  /// (plugins/carbons); sessions answer enable/disable, routers copy.
  bool carbons = false;
  /// XEP-0352 client state indication: some plugin declared the
  /// urn:xmpp:csi:0 stream feature (plugins/csi).
  bool csi = false;

  /// A service domain (a XEP-0045 MUC service, a XEP-0114 component):
  /// a plugin serves `domain.stanza`, so every stanza addressed to this
  /// domain, whatever its local part and kind, goes to that plugin
  /// instead of the accounts' paths (sessions, offline storage, the
  /// server's own iq chain).
  bool is_service() const;

  /// Some plugin serves `Hook`. The core asks the vhost only then, so a
  /// hook nobody serves costs nothing: e.g. a session runs
  /// `filter.stanza` on each stanza, the presence folds on its
  /// broadcasts, loads rosters (`roster.get`) and block lists
  /// (`blocking.list`, XEP-0191) only when served; the router asks
  /// `presence.check` about probes only when served.
  template <class Hook>
  bool serves() const {
    return served.test(hooks::index<Hook>::value);
  }
};

/// The vhost of `domain` if it is a service domain (vhost_info::is_service).
template <class Table>
const vhost_info* find_service(const Table& vhosts, const std::string& domain) {
  auto i = vhosts.find(domain);
  return i != vhosts.end() && i->second.is_service() ? &i->second : nullptr;
}

/// domain -> vhost (its actor for the `deliver` hook, the hooks it
/// serves): what the router shards and the cluster node look up.
using vhost_table = std::unordered_map<std::string, vhost_info>;

struct server_context {
  std::size_t max_stanza_size = 256 * 1024; ///< = limits.c2s_stanza_size
  dja::limits limits; ///< [limits]: what one peer may cost
  std::chrono::seconds negotiation_timeout{30};
  std::unordered_map<std::string, vhost_info> vhosts;
  router_ref router;
  std::shared_ptr<tls::context_set> tls; ///< null: no certificates at all
  /// Failed logins per address and per account (common/login_throttle);
  /// null in unit tests.
  std::shared_ptr<login_throttle> throttle;
  /// Open connections per address and in total (listener/); null in
  /// unit tests.
  std::shared_ptr<connection_limits> conn_limits;
  /// XEP-0198 resumable sessions of this node (common/stream_management);
  /// null in unit tests (no resumption).
  std::shared_ptr<sm::registry> sm;
  /// Federation (actors/s2s): null unless an s2s listener is configured.
  std::shared_ptr<const s2s::settings> s2s_settings;
  caf::actor s2s; ///< the s2s manager (remote domains go there)

  const vhost_info* find_vhost(const std::string& domain) const {
    auto i = vhosts.find(domain);
    return i == vhosts.end() ? nullptr : &i->second;
  }
};

using context_ptr = std::shared_ptr<const server_context>;

/// How one listener's streams behave.
struct listener_options {
  bool direct_tls = false; ///< XEP-0368: TLS from the first byte
  enum class starttls_mode { required, optional, off } starttls
    = starttls_mode::optional;
  bool allow_plain_without_tls = false;
  /// Where SCRAM-*-PLUS is offered (config key sasl_channel_binding).
  enum class plus_mode { off, tls12, always };
  plus_mode sasl_channel_binding = plus_mode::tls12;
  bool s2s = false; ///< server-to-server streams (actors/s2s)
  /// XEP-0198 offered after authentication (config key stream_management).
  bool stream_management = true;
};

} // namespace dja
