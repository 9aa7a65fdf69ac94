#pragma once

// One worker's connections to the directory, over libldap (OpenLDAP's
// client library, Debian libldap-dev): a service connection for searches
// (bound as `bind_dn`, or anonymous) and an auth connection for the
// users' own binds (RFC 4513 §5.1.3 simple bind), so a user's bind never
// changes who the searches run as. Every call blocks, bounded by the
// network timeout (LDAP_OPT_NETWORK_TIMEOUT: connect), the operation
// timeout (LDAP_OPT_TIMEOUT and the search's own limit) and, as a
// backstop (libldap does not bound the TLS handshake of ldaps://), a
// watchdog that shuts the sockets down past the deadline; which is why
// each belongs to one detached worker (plugins/ldap/ldap.cpp). StartTLS
// (RFC 4513 §3) or ldaps://, with the server's certificate verified
// unless tls_verify = false. A connection that fails is closed and opened
// again at the next call; a kept connection the directory closed (it
// restarted) is opened again at once for the same call, so a directory
// that came back serves the first request. A failure is a caf::error,
// never "wrong password".

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

typedef struct ldap LDAP; // <ldap.h>, kept out of the plugin's headers

namespace dja::plugins::ldap {

/// One entry of a search result: its DN and the values of the
/// attributes asked for (binary values as their raw bytes).
struct entry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attrs; ///< lower-case

  /// The values of `attr` (any case); empty when none.
  const std::vector<std::string>& values(const std::string& attr) const;
  /// The first value of `attr`, nullopt when none.
  std::optional<std::string> first(const std::string& attr) const;
};

using entries = std::vector<entry>;

/// Where and how to connect.
struct connection_settings {
  std::string tag; ///< "ldap: vhost D", for the log
  std::string uri; ///< one or more ldap:// / ldaps:// URIs, space-separated
  bool starttls = true; ///< ldap:// only
  bool tls_verify = true;
  std::string ca_file; ///< "" the system's CAs
  std::string bind_dn; ///< "" anonymous searches
  std::string bind_password;
  std::chrono::milliseconds timeout{3000};
};

enum class scope { base, subtree };

class armed;

class directory {
public:
  /// The sockets of this directory's connections and their watchdog.
  struct socket_hook;

  explicit directory(connection_settings cfg);
  ~directory();
  directory(const directory&) = delete;
  directory& operator=(const directory&) = delete;

  /// The entries under `base` matching `filter` with `attrs` (none: no
  /// attributes); noSuchObject is no entries.
  caf::expected<entries> search(const std::string& base, scope s,
                                const std::string& filter,
                                const std::vector<std::string>& attrs);

  /// Does `password` bind as `dn`? false: invalid credentials (or an
  /// empty password, never sent: RFC 4513 §5.1.2 would make it an
  /// unauthenticated bind that succeeds).
  caf::expected<bool> bind(const std::string& dn,
                           const std::string& password);

private:
  friend class armed; // the watchdog's guard of one call

  /// `ld` connected (StartTLS done, and the service bind when
  /// `service`), opening it when it is not.
  caf::expected<LDAP*> open(LDAP*& ld, bool service);
  void close(LDAP*& ld);

  connection_settings cfg_;
  std::unique_ptr<socket_hook> hook_;
  LDAP* service_ = nullptr;
  LDAP* auth_ = nullptr;
};

} // namespace dja::plugins::ldap
