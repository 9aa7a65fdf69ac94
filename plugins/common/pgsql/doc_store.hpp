#pragma once

// XML documents per account in PostgreSQL, shared by vcard.pgsql and
// private.pgsql (the data of plugins/vcard/sqlite/doc_store.hpp). Each
// plugin names its table, which is also its schema_version component.
//
// Schema (version 1):
//
//   <table>(domain TEXT, username TEXT, key TEXT,  -- PRIMARY KEY of the three
//           value TEXT, updated BIGINT)            -- unix time
//
// (`key` is "" for one document per account, e.g. the vCard; private XML
// keys by "{namespace}name".)

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql {

/// One stored document.
struct doc {
  bool found = false;
  std::string value;
  int64_t updated = 0; ///< unix time of the last write
};

class doc_store {
public:
  /// `table` is a fixed identifier of the plugin (not user input).
  doc_store(settings cfg, const std::string& table);

  /// Connects and migrates now (at start-up); later calls reconnect.
  caf::error connect();

  caf::expected<doc> get(const std::string& domain, const std::string& user,
                         const std::string& key);

  /// Writes (inserts or replaces) all `docs` (key, value) of one account in
  /// one transaction: all of them or none.
  caf::error put(const std::string& domain, const std::string& user,
                 const std::vector<std::pair<std::string, std::string>>& docs,
                 int64_t updated);

  /// Removes one document; no error when there was none.
  caf::error remove(const std::string& domain, const std::string& user,
                    const std::string& key);

private:
  std::string create_;
  std::string get_;
  std::string put_;
  std::string remove_;
  connection db_;
};

} // namespace dja::plugins::pgsql
