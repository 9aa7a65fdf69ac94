// The auth.* hooks over an auth::backend (plugins/auth/serve.hpp): the
// logic of auth.static, auth.sqlite and auth.pgsql, written once.

#include "plugins/auth/serve.hpp"

#include <algorithm>
#include <stdexcept>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/scram.hpp"

namespace dja::plugins::auth {

namespace {

using hooks::account_result;
using hooks::answer;
using strings = std::vector<std::string>;

constexpr size_t salt_size = 16;
constexpr int64_t min_iterations = 4096;
constexpr int64_t max_iterations = 10000000;

caf::error runtime_error(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

struct context {
  settings cfg;
  std::shared_ptr<backend> store;

  bool ours(const jid& user) const {
    return cfg.scope.ours(user);
  }

  caf::error failed(const char* op, const caf::error& err) const {
    return cfg.scope.failed(op, err);
  }

  const std::string& domain() const {
    return cfg.scope.domain;
  }

  /// Fresh credentials for both hash functions.
  caf::expected<account_creds> derive(const std::string& password) const {
    try {
      account_creds c;
      c.sha1 = scram::derive(crypto::hash_fn::sha1, password,
                             crypto::random_bytes(salt_size), cfg.iterations);
      c.sha256 = scram::derive(crypto::hash_fn::sha256, password,
                               crypto::random_bytes(salt_size),
                               cfg.iterations);
      return c;
    } catch (const std::exception& ex) {
      return failed("derive", runtime_error(ex.what()));
    }
  }

  /// A write of `user`'s account: register, set_password or remove_user.
  /// `changed` is what the store did; logged as "account {} `done`".
  caf::result<answer<account_result>>
  account_write(const char* op, const jid& user, caf::expected<bool> changed,
                account_result otherwise, const char* done) const {
    if (!changed)
      return failed(op, changed.error());
    if (*changed)
      spdlog::info("{}: vhost {}: account {} {}", cfg.scope.tag, domain(),
                   user.local(), done);
    return answer<account_result>::handled(*changed ? account_result::done
                                                    : otherwise);
  }

  /// register (`fresh`: a new account) or set_password: new credentials.
  caf::result<answer<account_result>>
  store_password(const jid& user, const std::string& password,
                 bool fresh) const {
    if (!ours(user))
      return answer<account_result>::decline();
    auto creds = derive(password);
    if (!creds)
      return creds.error();
    if (fresh)
      return account_write("register", user,
                           store->insert(domain(), user.local(), *creds),
                           account_result::conflict, "created");
    return account_write("set_password", user,
                         store->update(domain(), user.local(), *creds),
                         account_result::not_found, "changed its password");
  }
};

} // namespace

caf::expected<std::optional<bool>>
backend::verify(const std::string& domain, const std::string& user,
                const std::string& password) {
  auto creds = scram(domain, user, "SHA-256");
  if (!creds)
    return creds.error();
  if (!creds->found)
    return std::optional<bool>{};
  if (creds->iterations == 0 || creds->salt.empty())
    return runtime_error("corrupt credentials of " + user);
  try {
    auto mine = scram::derive(crypto::hash_fn::sha256, password, creds->salt,
                              creds->iterations);
    return std::optional<bool>{
      crypto::equal(mine.stored_key, creds->stored_key)};
  } catch (const std::exception& ex) {
    return runtime_error(ex.what());
  }
}

caf::expected<bool> backend::insert(const std::string&, const std::string&,
                                    const account_creds&) {
  return runtime_error("read-only account store");
}

caf::expected<bool> backend::update(const std::string&, const std::string&,
                                    const account_creds&) {
  return runtime_error("read-only account store");
}

caf::expected<bool> backend::remove(const std::string&, const std::string&) {
  return runtime_error("read-only account store");
}

caf::expected<strings> backend::list(const std::string&) {
  return runtime_error("read-only account store");
}

caf::behavior serve(caf::event_based_actor*, settings cfg,
                    std::shared_ptr<backend> store) {
  auto c = std::make_shared<context>(context{std::move(cfg),
                                             std::move(store)});
  return {
    [c](const hooks::auth_get_scram& r)
      -> caf::result<answer<hooks::scram_credentials>> {
      using result = answer<hooks::scram_credentials>;
      if (!c->ours(r.user))
        return result::decline();
      auto creds = c->store->scram(c->domain(), r.user.local(), r.hash);
      if (!creds)
        return c->failed("get_scram", creds.error());
      if (!creds->found)
        return result::decline(); // maybe another plugin knows them
      return result::handled(std::move(*creds));
    },
    [c](const hooks::auth_check_password& r) -> caf::result<answer<bool>> {
      if (!c->ours(r.user))
        return answer<bool>::decline();
      auto ok = c->store->verify(c->domain(), r.user.local(), r.password);
      if (!ok)
        return c->failed("check_password", ok.error());
      if (!*ok)
        return answer<bool>::decline();
      return answer<bool>::handled(**ok);
    },
    [c](const hooks::auth_user_exists& r) -> caf::result<answer<bool>> {
      if (!c->ours(r.user))
        return answer<bool>::decline();
      auto found = c->store->exists(c->domain(), r.user.local());
      if (!found)
        return c->failed("user_exists", found.error());
      if (!*found)
        return answer<bool>::decline();
      return answer<bool>::handled(true);
    },
    [c](const hooks::auth_register& r)
      -> caf::result<answer<account_result>> {
      return c->store_password(r.user, r.password, true);
    },
    [c](const hooks::auth_set_password& r)
      -> caf::result<answer<account_result>> {
      return c->store_password(r.user, r.password, false);
    },
    [c](const hooks::auth_remove_user& r)
      -> caf::result<answer<account_result>> {
      if (!c->ours(r.user))
        return answer<account_result>::decline();
      return c->account_write("remove_user", r.user,
                              c->store->remove(c->domain(),
                                               r.user.local()),
                              account_result::not_found, "removed");
    },
    [c](const hooks::auth_list_users&) -> caf::result<answer<strings>> {
      auto users = c->store->list(c->domain());
      if (!users)
        return c->failed("list_users", users.error());
      return answer<strings>::handled(std::move(*users));
    },
  };
}

manifest describe(bool writable) {
  manifest m;
  m.hooks = {hooks::id<hooks::auth_check_password>,
             hooks::id<hooks::auth_user_exists>,
             hooks::id<hooks::auth_get_scram>};
  if (writable)
    for (auto id : {hooks::id<hooks::auth_register>,
                    hooks::id<hooks::auth_set_password>,
                    hooks::id<hooks::auth_remove_user>,
                    hooks::id<hooks::auth_list_users>})
      m.hooks.emplace_back(id);
  return m;
}

option_spec iterations_option() {
  return {"iterations", option_type::integer, false,
          "PBKDF2 iterations for new passwords, 4096..10000000 (default "
          "4096)"};
}

uint32_t iterations_of(const spawn_context& ctx, const std::string& tag) {
  auto n = ctx.options["iterations"].value_or(min_iterations);
  auto clamped = std::clamp(n, min_iterations, max_iterations);
  if (clamped != n)
    spdlog::warn("{}: vhost {}: iterations = {} is outside 4096..10000000; "
                 "using {}", tag, ctx.domain, n, clamped);
  return static_cast<uint32_t>(clamped);
}

} // namespace dja::plugins::auth
