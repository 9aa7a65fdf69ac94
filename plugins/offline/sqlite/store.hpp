#pragma once

// The SQLite backend of offline.sqlite (XEP-0160 offline messages), on the
// shared SQLite layer (plugins/common/sqlite/database.hpp: mode 0600, WAL,
// synchronous = FULL, schema_version, statement cache, transactions).
// One database file, opened at start() or on first use (and again after
// a failed open); every call blocks (the actor is detached).
//
// Schema (version 1; the file format of every release so far):
//
//   schema_version(version INTEGER NOT NULL)        -- one row
//   offline_messages(id INTEGER PRIMARY KEY,        -- arrival order
//                    domain TEXT, user TEXT,        -- the recipient
//                    stored INTEGER,                -- unix time
//                    stanza TEXT)                   -- serialized XML
//   INDEX offline_by_user(domain, user, id)
//
// Writes run in BEGIN IMMEDIATE transactions committed with
// synchronous = FULL (fsync'd): once add() returns, the stanza survives a
// crash or a power loss.

#include <memory>
#include <string>

#include "plugins/common/sqlite/database.hpp"
#include "plugins/offline/serve.hpp"

namespace dja::plugins::sqlite_offline {

class store : public offline::backend {
public:
  store(std::string domain, std::string path);

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
  caf::expected<sqlite::database*> open();

  std::string domain_;
  std::string path_;
  std::unique_ptr<sqlite::database> db_;
};

} // namespace dja::plugins::sqlite_offline
