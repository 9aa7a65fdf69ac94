// auth.static: accounts and passwords listed in the configuration (the
// in-memory account store: read-only, so it serves auth.check_password,
// auth.user_exists and auth.get_scram only). The hooks are
// plugins/auth/serve.hpp; this is the store.
//
// SCRAM credentials are derived from the plain password on first use (per
// user and hash) with a deterministic salt, so they stay the same across
// restarts: the first 16 bytes of SHA-256("djabberd-actors static salt"
// NUL domain NUL user), 4096 iterations. A PLAIN login compares the
// passwords (in constant time), without a key derivation.

#include <map>
#include <memory>
#include <utility>

#include <caf/all.hpp>

#include "common/crypto.hpp"
#include "common/scram.hpp"
#include "plugins/auth/serve.hpp"
#include "plugins/users.hpp"

namespace dja::plugins {

namespace {

constexpr uint32_t scram_iterations = 4096;
constexpr size_t scram_salt_size = 16;

class store : public auth::backend {
public:
  explicit store(std::shared_ptr<const user_table> users)
    : users_(std::move(users)) {
    // nop
  }

  caf::expected<hooks::scram_credentials>
  scram(const std::string& domain, const std::string& user,
        const std::string& hash) override {
    auto i = users_->find(user);
    auto h = crypto::hash_from_name(hash);
    if (i == users_->end() || !h)
      return hooks::scram_credentials{}; // found = false
    auto key = std::make_pair(i->first, hash);
    if (auto c = cache_.find(key); c != cache_.end())
      return c->second;
    std::string label = "djabberd-actors static salt";
    label += '\0';
    label += domain;
    label += '\0';
    label += i->first;
    auto salt = crypto::digest(crypto::hash_fn::sha256, label)
                  .substr(0, scram_salt_size);
    auto creds = scram::derive(*h, i->second, std::move(salt),
                               scram_iterations);
    cache_.emplace(std::move(key), creds);
    return creds;
  }

  caf::expected<std::optional<bool>>
  verify(const std::string&, const std::string& user,
         const std::string& password) override {
    auto i = users_->find(user);
    if (i == users_->end())
      return std::optional<bool>{};
    return std::optional<bool>{same_secret(i->second, password)};
  }

  caf::expected<bool> exists(const std::string&,
                             const std::string& user) override {
    return users_->count(user) > 0;
  }

private:
  std::shared_ptr<const user_table> users_;
  /// (user, hash name) -> derived credentials.
  std::map<std::pair<std::string, std::string>, hooks::scram_credentials>
    cache_;
};

} // namespace

DJA_PLUGIN(auth_static) {
  return {
    "auth.static",
    "accounts and plain passwords listed in the configuration",
    {{"users", option_type::string_map, true,
      "user name -> password, e.g. { alice = \"secret\" }"}},
    [](const toml::table&) { return auth::describe(false); },
    [](const spawn_context& ctx) {
      return ctx.sys.spawn(auth::serve,
                           auth::settings{{ctx.domain, "auth.static"}},
                           std::shared_ptr<auth::backend>{
                             std::make_shared<store>(
                               read_users(ctx.options))});
    },
  };
}

} // namespace dja::plugins
