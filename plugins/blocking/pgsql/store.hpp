#pragma once

// The PostgreSQL store behind blocking.pgsql: the lists of one vhost, as a
// blocking::backend (plugins/blocking/serve.hpp serves the hooks over it,
// exactly as for blocking.sqlite). Used by one detached actor; every call
// blocks (bounded, see plugins/common/pgsql/connection.hpp).
//
// Schema (component "blocking", version 1):
//
//   blocked_jids(domain TEXT, username TEXT, item TEXT)  -- PRIMARY KEY: all
//
// `username` is the prepared local part, `item` a prepared JID string.
// Lists are sorted bytewise (COLLATE "C"), as blocking.sqlite sorts them,
// whatever the database's locale.

#include <string>
#include <vector>

#include "plugins/blocking/serve.hpp"
#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql_blocking {

class store : public blocking::backend {
public:
  store(std::string domain, pgsql::settings cfg);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect();

  caf::expected<std::vector<std::string>>
  list(const std::string& user) override;

  caf::error add(const std::string& user,
                 const std::vector<std::string>& items) override;

  caf::expected<std::vector<std::string>>
  remove(const std::string& user,
         const std::vector<std::string>& items) override;

private:
  std::string domain_;
  pgsql::connection db_;
};

} // namespace dja::plugins::pgsql_blocking
