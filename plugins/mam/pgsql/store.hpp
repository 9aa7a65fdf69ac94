#pragma once

// The PostgreSQL store behind mam.pgsql (XEP-0313 user archives, the data
// of mam.sqlite; the schema and statements of plugins/mam/common/sql.hpp,
// component "mam", version 1). For clusters: nodes sharing the database
// share the archives. Used by one detached actor; every call blocks
// (bounded, see plugins/common/pgsql/connection.hpp). A batch of archived
// messages is one transaction.

#include <string>
#include <vector>

#include "plugins/common/pgsql/connection.hpp"
#include "plugins/mam/serve.hpp"

namespace dja::plugins::pgsql_mam {

class store : public mam::backend {
public:
  store(std::string domain, pgsql::settings cfg);

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
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_mam
