#pragma once

// What every account store plugin shares (auth.static, auth.sqlite,
// auth.pgsql): the auth.* hooks, served once over a backend that keeps
// the accounts. Only SCRAM credentials are kept by the writable stores
// (RFC 5802 §3: SHA-1 and SHA-256, each with its own random salt); a PLAIN
// login is checked by recomputing the SHA-256 StoredKey. The read hooks
// are declined for users the store does not know, so another auth plugin
// further down the chain may know them. Any storage failure is replied as
// an error, so the core fails closed (<temporary-auth-failure/>).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/common/scope.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::auth {

/// The credentials of one account, for both hash functions.
struct account_creds {
  hooks::scram_credentials sha1;
  hooks::scram_credentials sha256;
};

/// Where the accounts are kept. `user` is a prepared local part of
/// `domain`. The calls may block (SQLite, libpq): a plugin with a
/// blocking backend is spawned detached. The writes of a read-only store
/// (auth.static) are never called: its manifest does not declare them.
class backend {
public:
  virtual ~backend() = default;

  /// The credentials of `user` for `hash` ("SHA-1" or "SHA-256"); found
  /// = false when there is no such account (or no such hash).
  virtual caf::expected<hooks::scram_credentials>
  scram(const std::string& domain, const std::string& user,
        const std::string& hash) = 0;

  /// Is `password` the one of `user`? nullopt: no such account. By
  /// default the SHA-256 StoredKey is recomputed from the password.
  virtual caf::expected<std::optional<bool>>
  verify(const std::string& domain, const std::string& user,
         const std::string& password);

  virtual caf::expected<bool> exists(const std::string& domain,
                                     const std::string& user) = 0;

  /// false: the account exists already.
  virtual caf::expected<bool> insert(const std::string& domain,
                                     const std::string& user,
                                     const account_creds& creds);

  /// false: no such account.
  virtual caf::expected<bool> update(const std::string& domain,
                                     const std::string& user,
                                     const account_creds& creds);

  /// false: no such account.
  virtual caf::expected<bool> remove(const std::string& domain,
                                     const std::string& user);

  /// The user names of `domain`, sorted.
  virtual caf::expected<std::vector<std::string>>
  list(const std::string& domain);
};

/// What serve() needs besides the store.
struct settings {
  plugins::scope scope;       ///< the vhost and the log tag
  uint32_t iterations = 4096; ///< PBKDF2 iterations for new passwords
};

/// The behavior of an auth plugin.
caf::behavior serve(caf::event_based_actor* self, settings cfg,
                    std::shared_ptr<backend> store);

/// The hooks served: the read hooks, and with `writable` also register,
/// set_password, remove_user and list_users.
manifest describe(bool writable);

/// The `iterations` option of the writable stores.
option_spec iterations_option();

/// The `iterations` option of `ctx`, clamped to 4096..10000000 (with a
/// warning naming `tag`).
uint32_t iterations_of(const spawn_context& ctx, const std::string& tag);

} // namespace dja::plugins::auth
