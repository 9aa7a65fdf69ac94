// blocking.sqlite: XEP-0191 block lists in an SQLite database
// (plugins/blocking/sqlite/store.hpp has the schema), so that a block
// holds across sessions and restarts (§3.3). The hooks are
// plugins/blocking/serve.hpp. SQLite calls block: the actor is detached.
// A storage failure is replied as an error.

#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "plugins/blocking/serve.hpp"
#include "plugins/blocking/sqlite/store.hpp"

namespace dja::plugins {

namespace {

using sqlite_blocking::store;

/// The store, opened on first use (and again after a failed open).
class sqlite_backend : public blocking::backend {
public:
  sqlite_backend(std::string domain, std::string path)
    : domain_(std::move(domain)), path_(std::move(path)) {
    if (!open())
      spdlog::error("blocking.sqlite: vhost {}: every request fails until "
                    "{} can be opened",
                    domain_, path_);
  }

  caf::expected<std::vector<std::string>>
  list(const std::string& user) override {
    auto db = open();
    if (!db)
      return db.error();
    return (*db)->list(domain_, user);
  }

  caf::error add(const std::string& user,
                 const std::vector<std::string>& items) override {
    auto db = open();
    if (!db)
      return db.error();
    return (*db)->add(domain_, user, items);
  }

  caf::expected<std::vector<std::string>>
  remove(const std::string& user,
         const std::vector<std::string>& items) override {
    auto db = open();
    if (!db)
      return db.error();
    return (*db)->remove(domain_, user, items);
  }

private:
  caf::expected<store*> open() {
    if (db_)
      return db_.get();
    auto st = store::open(path_);
    if (!st)
      return st.error();
    db_ = std::move(*st);
    spdlog::debug("blocking.sqlite: vhost {}: using {}", domain_, path_);
    return db_.get();
  }

  std::string domain_;
  std::string path_;
  std::unique_ptr<store> db_;
};

} // namespace

DJA_PLUGIN(blocking_sqlite) {
  return {
    "blocking.sqlite",
    "XEP-0191 block lists in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"blocking.sqlite\")"}},
    [](const toml::table&) { return blocking::describe(); },
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"blocking.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      return ctx.sys.spawn<caf::detached>(
        blocking::serve, ctx.domain, std::string{"blocking.sqlite"},
        std::shared_ptr<blocking::backend>{
          std::make_shared<sqlite_backend>(ctx.domain, path)});
    },
  };
}

} // namespace dja::plugins
