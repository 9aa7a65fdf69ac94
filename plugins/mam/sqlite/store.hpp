#pragma once

// The SQLite backend of mam.sqlite (XEP-0313 user archives), on the
// shared SQLite layer (plugins/common/sqlite: mode 0600, WAL,
// schema_version, statement cache; synchronous = NORMAL here, see
// append()), with the schema
// and statements of plugins/mam/common/sql.hpp (version 1). One database
// file, opened at start() or on first use (and again after a failed
// open); every call blocks (the actor is detached). A batch of archived
// messages is one BEGIN IMMEDIATE transaction.

#include <string>

#include "plugins/common/sqlite/lazy_database.hpp"
#include "plugins/mam/serve.hpp"

namespace dja::plugins::sqlite_mam {

class store : public mam::backend {
public:
  store(std::string domain, std::string path);

  caf::error start() override;
  bool blocking() const override {
    return true;
  }
  caf::error append(const mam::row* rows, size_t n) override;
  caf::expected<std::optional<int64_t>>
  seq_of(const std::string& user, const std::string& id) override;
  caf::expected<std::vector<mam::row>>
  select(const std::string& user, const mam::filter& f, int64_t limit,
         bool backward, int64_t offset) override;
  caf::expected<int64_t> count(const std::string& user,
                               const mam::filter& f) override;
  caf::expected<std::optional<std::string>>
  get_prefs(const std::string& user) override;
  caf::error set_prefs(const std::string& user,
                       const std::string& prefs) override;
  caf::expected<int64_t> prune(int64_t before_us,
                               int64_t max_per_user) override;

private:
  std::string domain_;
  std::string path_;
  std::unique_ptr<sqlite::lazy_database> db_;
  sqlite::database* tuned_ = nullptr; ///< synchronous = NORMAL set on it
};

} // namespace dja::plugins::sqlite_mam
