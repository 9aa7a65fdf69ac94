#pragma once

// XML documents per account in PostgreSQL, the PostgreSQL store behind
// plugins/common/docs/store.hpp (vcard.pgsql, private.pgsql; the data of
// plugins/common/sqlite/doc_store.hpp). Each plugin names its table,
// which is also its schema_version component.
//
// Schema (version 1):
//
//   <table>(domain TEXT, username TEXT, key TEXT,  -- PRIMARY KEY of the three
//           value TEXT, updated BIGINT)            -- unix time
//
// (`key` is "" for one document per account, e.g. the vCard; private XML
// keys by "{namespace}name".)

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "plugins/common/docs/store.hpp"
#include "plugins/common/pgsql/connection.hpp"

namespace dja::plugins::pgsql {

using docs::doc;

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

  /// The size in bytes of each document of `user`, by key.
  caf::expected<std::map<std::string, int64_t>>
  sizes(const std::string& domain, const std::string& user);

private:
  std::string create_;
  std::string get_;
  std::string put_;
  std::string remove_;
  std::string sizes_;
  connection db_;
};

} // namespace dja::plugins::pgsql
