#pragma once

// The PostgreSQL store behind offline.pgsql (XEP-0160 offline messages,
// the data of offline.sqlite). Used by one detached actor; every call
// blocks (bounded, see plugins/common/pgsql/connection.hpp).
//
// Schema (component "offline", version 1):
//
//   offline_messages(id BIGSERIAL PRIMARY KEY,     -- arrival order
//                    domain TEXT, username TEXT,   -- the recipient
//                    stored BIGINT,                -- unix time
//                    stanza TEXT)                  -- serialized XML
//   INDEX offline_by_user(domain, username, id)
//
// Rows are addressed by id: offline.fetch is fetch(), offline.remove
// (once the session wrote them) is remove(ids). Once add() returns true
// the row is committed (PostgreSQL's synchronous_commit decides the
// fsync).

#include <string>
#include <vector>

#include "plugins/common/pgsql/connection.hpp"
#include "plugins/offline/serve.hpp"

namespace dja::plugins::pgsql_offline {

class store : public offline::backend {
public:
  store(std::string domain, pgsql::settings cfg);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error start() override;
  bool blocking() const override {
    return true;
  }
  caf::expected<bool> add(const std::string& user, const std::string& stanza,
                          int64_t max) override;
  caf::expected<std::vector<offline::row>>
  fetch(const std::string& user) override;
  caf::error remove(const std::string& user,
                    const std::vector<int64_t>& ids) override;

private:
  std::string domain_;
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_offline
