// auth.sqlite: accounts stored in an SQLite database (plugins/auth/sqlite/
// store.hpp has the schema). Only SCRAM credentials are kept (SHA-1 and
// SHA-256, each with its own random salt); a PLAIN login is checked by
// recomputing the SHA-256 StoredKey. Serves every auth hook; declines the
// read hooks for users it does not know, so another auth plugin further
// down the chain may know them. SQLite calls block: the actor is detached.
// Any storage failure is replied as an error, so the core fails closed.

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/auth/sqlite/store.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

using hooks::account_result;
using hooks::answer;
using sqlite_auth::account_creds;
using sqlite_auth::store;

constexpr int64_t default_iterations = 4096;
constexpr size_t salt_size = 16;

struct sqlite_state {
  static inline const char* name = "auth.sqlite";

  std::string domain;
  std::string path;
  uint32_t iterations = default_iterations;
  std::unique_ptr<store> db;

  /// The store, opened on first use (and again after a failed open).
  caf::expected<store*> open() {
    if (db)
      return db.get();
    auto st = store::open(path);
    if (!st)
      return failed("open", st.error());
    db = std::move(*st);
    spdlog::debug("auth.sqlite: vhost {}: using {}", domain, path);
    return db.get();
  }

  /// Logs a storage failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("auth.sqlite: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"auth.sqlite: "} + op + " failed");
  }

  /// Is this request for our vhost and a real account?
  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Fresh credentials for both hash functions.
  caf::expected<account_creds> derive(const std::string& password) const {
    try {
      account_creds c;
      c.sha1 = scram::derive(crypto::hash_fn::sha1, password,
                             crypto::random_bytes(salt_size), iterations);
      c.sha256 = scram::derive(crypto::hash_fn::sha256, password,
                               crypto::random_bytes(salt_size), iterations);
      return c;
    } catch (const std::exception& ex) {
      return failed("derive", caf::make_error(caf::sec::runtime_error,
                                              std::string{ex.what()}));
    }
  }

  template <class T>
  caf::result<answer<T>> reply(const char* op, caf::expected<T> r) {
    if (!r)
      return failed(op, r.error());
    return answer<T>::handled(std::move(*r));
  }
};

using sqlite_actor = caf::stateful_actor<sqlite_state>;

caf::behavior auth_sqlite(sqlite_actor* self, std::string domain,
                          std::string path, uint32_t iterations) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.path = std::move(path);
  st.iterations = iterations;
  if (auto db = st.open(); !db)
    spdlog::error("auth.sqlite: vhost {}: every request fails until {} can "
                  "be opened", st.domain, st.path);
  return {
    [self](const hooks::auth_get_scram& r)
      -> caf::result<answer<hooks::scram_credentials>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<hooks::scram_credentials>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto creds = (*db)->scram(st.domain, r.user.local(), r.hash);
      if (!creds)
        return st.failed("get_scram", creds.error());
      if (!creds->found)
        return answer<hooks::scram_credentials>::decline();
      return answer<hooks::scram_credentials>::handled(std::move(*creds));
    },
    [self](const hooks::auth_check_password& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto creds = (*db)->scram(st.domain, r.user.local(), "SHA-256");
      if (!creds)
        return st.failed("check_password", creds.error());
      if (!creds->found)
        return answer<bool>::decline();
      if (creds->iterations == 0 || creds->salt.empty())
        return st.failed("check_password",
                         caf::make_error(caf::sec::runtime_error,
                                         "corrupt credentials of "
                                           + r.user.local()));
      try {
        auto mine = scram::derive(crypto::hash_fn::sha256, r.password,
                                  creds->salt, creds->iterations);
        return answer<bool>::handled(
          crypto::equal(mine.stored_key, creds->stored_key));
      } catch (const std::exception& ex) {
        return st.failed("check_password",
                         caf::make_error(caf::sec::runtime_error,
                                         std::string{ex.what()}));
      }
    },
    [self](const hooks::auth_user_exists& r) -> caf::result<answer<bool>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<bool>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto found = (*db)->exists(st.domain, r.user.local());
      if (!found)
        return st.failed("user_exists", found.error());
      if (!*found)
        return answer<bool>::decline(); // maybe another plugin knows them
      return answer<bool>::handled(true);
    },
    [self](const hooks::auth_register& r)
      -> caf::result<answer<account_result>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<account_result>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto creds = st.derive(r.password);
      if (!creds)
        return creds.error();
      auto added = (*db)->insert(st.domain, r.user.local(), *creds);
      if (!added)
        return st.failed("register", added.error());
      if (*added)
        spdlog::info("auth.sqlite: vhost {}: account {} created", st.domain,
                     r.user.local());
      return answer<account_result>::handled(
        *added ? account_result::done : account_result::conflict);
    },
    [self](const hooks::auth_set_password& r)
      -> caf::result<answer<account_result>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<account_result>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto creds = st.derive(r.password);
      if (!creds)
        return creds.error();
      auto changed = (*db)->update(st.domain, r.user.local(), *creds);
      if (!changed)
        return st.failed("set_password", changed.error());
      if (*changed)
        spdlog::info("auth.sqlite: vhost {}: password of {} changed",
                     st.domain, r.user.local());
      return answer<account_result>::handled(
        *changed ? account_result::done : account_result::not_found);
    },
    [self](const hooks::auth_remove_user& r)
      -> caf::result<answer<account_result>> {
      auto& st = self->state;
      if (!st.ours(r.user))
        return answer<account_result>::decline();
      auto db = st.open();
      if (!db)
        return db.error();
      auto removed = (*db)->remove(st.domain, r.user.local());
      if (!removed)
        return st.failed("remove_user", removed.error());
      if (*removed)
        spdlog::info("auth.sqlite: vhost {}: account {} removed", st.domain,
                     r.user.local());
      return answer<account_result>::handled(
        *removed ? account_result::done : account_result::not_found);
    },
    [self](const hooks::auth_list_users&)
      -> caf::result<answer<std::vector<std::string>>> {
      auto& st = self->state;
      auto db = st.open();
      if (!db)
        return db.error();
      return st.reply("list_users", (*db)->list(st.domain));
    },
  };
}

} // namespace

plugin_type auth_sqlite_type() {
  return {
    "auth.sqlite",
    "accounts in an SQLite database (SCRAM credentials only)",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"accounts.sqlite\")"},
     {"iterations", option_type::integer, false,
      "PBKDF2 iterations for new passwords, 4096..10000000 (default 4096)"}},
    [](const toml::table&) {
      return manifest{{hooks::id<hooks::auth_check_password>,
                       hooks::id<hooks::auth_user_exists>,
                       hooks::id<hooks::auth_get_scram>,
                       hooks::id<hooks::auth_register>,
                       hooks::id<hooks::auth_set_password>,
                       hooks::id<hooks::auth_remove_user>,
                       hooks::id<hooks::auth_list_users>},
                      {}, {}, {}, {}};
    },
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"accounts.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      auto n = ctx.options["iterations"].value_or(default_iterations);
      if (n < 4096 || n > 10000000) {
        spdlog::warn("auth.sqlite: vhost {}: iterations = {} is outside "
                     "4096..10000000; using {}", ctx.domain, n,
                     std::clamp<int64_t>(n, 4096, 10000000));
        n = std::clamp<int64_t>(n, 4096, 10000000);
      }
      return ctx.sys.spawn<caf::detached>(auth_sqlite, ctx.domain, path,
                                          static_cast<uint32_t>(n));
    },
  };
}

} // namespace dja::plugins
