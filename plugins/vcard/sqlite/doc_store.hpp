#pragma once

// A small SQLite store of XML documents per account, shared by the
// storage plugins vcard.sqlite, private.sqlite and last (each opens its own
// file, spawned detached: every call here blocks). Same conventions as
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
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "common/xml.hpp"
#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite_docs {

/// One stored document.
struct doc {
  bool found = false;
  std::string value;
  int64_t updated = 0; ///< unix time of the last write
};

class store {
public:
  /// Opens (creating if needed, mode 0600) and migrates the database at
  /// `path`; `table` is a fixed identifier of the plugin (not user input).
  static caf::expected<std::unique_ptr<store>> open(const std::string& path,
                                                    const std::string& table);

  store(const store&) = delete;
  store& operator=(const store&) = delete;

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
  store() = default;

  std::string table_;
  std::unique_ptr<sqlite::database> db_;
};

/// Parses one element serialized by xml::serialize() (with parent
/// namespace "jabber:client"), e.g. a stored document. nullptr when it is
/// not exactly one well-formed element.
xml::element_ptr parse_element(const std::string& text);

} // namespace dja::plugins::sqlite_docs
