#pragma once

// XML documents per account in SQLite, the SQLite store behind
// plugins/common/docs/store.hpp (vcard.sqlite, private.sqlite, last with
// a `file`; each opens its own file, its actor detached: every call here
// blocks). Same conventions as
// plugins/common/sqlite/database.hpp: WAL, a busy timeout, prepared
// statements, a transaction per write, a schema_version table, failures as
// caf::error carrying SQLite's message.
//
// Schema (version 1), the table name chosen by the plugin:
//
//   schema_version(version INTEGER NOT NULL)   -- one row
//   <table>(domain TEXT, username TEXT, key TEXT,   -- PRIMARY KEY of the three
//           value TEXT, updated INTEGER)            -- unix time
//
// (`key` is "" for one document per account, e.g. the vCard; private XML
// keys by "{namespace}name".)

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "plugins/common/docs/store.hpp"
#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite {

using docs::doc;

class doc_store {
public:
  /// Opens (creating if needed, mode 0600) and migrates the database at
  /// `path`; `table` is a fixed identifier of the plugin (not user input).
  static caf::expected<std::unique_ptr<doc_store>>
  open(const std::string& path, const std::string& table);

  doc_store(const doc_store&) = delete;
  doc_store& operator=(const doc_store&) = delete;

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
  doc_store() = default;

  std::string table_;
  std::unique_ptr<database> db_;
};

} // namespace dja::plugins::sqlite
