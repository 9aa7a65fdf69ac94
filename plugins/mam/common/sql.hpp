#pragma once

// The SQL the SQLite and PostgreSQL archives share: one schema shape and
// the statements of a query (plugins/mam/serve.hpp's filter), written
// once with $N parameters (the SQLite store turns them into ?N).
//
//   mam_messages(seq      INTEGER / BIGSERIAL PRIMARY KEY, -- archive order
//                domain, username TEXT,                  -- the archive
//                id TEXT,                                -- stanza-id
//                stamp BIGINT,                           -- µs since 1970
//                with_bare, with_resource TEXT,          -- the other party
//                outgoing SMALLINT,                      -- 1: the user sent it
//                stanza TEXT)                            -- serialized XML
//     UNIQUE (domain, id, username)          -- version 2; was (domain,
//                                            -- username, id) in 1
//     INDEX (domain, username, seq)
//   mam_prefs(domain, username TEXT, prefs TEXT,
//             PRIMARY KEY (domain, username))
//
// Two indexes only: each one costs every archived row an insert, on the
// one thread that writes the archive. `with` and the stamps filter within
// the user's rows; retention (hourly) scans the table. The unique index
// leads with the id (version 2): ids begin with the routing time
// (common/stanza_id.hpp), so a batch's entries land together at the
// index's end instead of one page per user (with (domain, username, id),
// a batch of 500 rows from 200 users dirtied some 200 index pages, each
// written to the WAL at the commit: half the archive's cost).

#include <cstdint>
#include <string>
#include <vector>

#include "plugins/mam/serve.hpp"

namespace dja::plugins::mam::sql {

/// A parameter: an integer or a text.
struct param {
  bool integer = false;
  int64_t i = 0;
  std::string s;
};

struct statement {
  std::string text; ///< with $1, $2, ...
  std::vector<param> params;
};

/// Version 1 of the schema; `seq` is the type of the archive order
/// ("INTEGER PRIMARY KEY" in SQLite, "BIGSERIAL PRIMARY KEY" in
/// PostgreSQL).
std::string schema_v1(const char* seq);

/// Version 2: the unique index by (domain, id, username); the same
/// constraint (the set of columns is the same), another key order.
constexpr const char* schema_v2
  = "DROP INDEX mam_by_id;"
    " CREATE UNIQUE INDEX mam_by_id ON mam_messages (domain, id, username)";

/// The columns of select() in row order: seq, id, stamp, with_bare,
/// with_resource, outgoing, stanza.
statement select(const std::string& domain, const std::string& user,
                 const filter& f, int64_t limit, bool backward,
                 int64_t offset);

/// SELECT count(*) of the rows `f` matches.
statement count(const std::string& domain, const std::string& user,
                const filter& f);

constexpr const char* seq_of = "SELECT seq FROM mam_messages WHERE domain = $1"
                               " AND username = $2 AND id = $3";
constexpr const char* prefs_get
  = "SELECT prefs FROM mam_prefs WHERE domain = $1 AND username = $2";
constexpr const char* prefs_set
  = "INSERT INTO mam_prefs (domain, username, prefs) VALUES ($1, $2, $3)"
    " ON CONFLICT (domain, username) DO UPDATE SET prefs = excluded.prefs";
constexpr const char* prune_old
  = "DELETE FROM mam_messages WHERE domain = $1 AND stamp < $2";
constexpr const char* over_quota
  = "SELECT username FROM mam_messages WHERE domain = $1 GROUP BY username"
    " HAVING count(*) > $2";
/// Keeps the newest $3 rows of one user.
constexpr const char* prune_user
  = "DELETE FROM mam_messages WHERE domain = $1 AND username = $2 AND seq <="
    " (SELECT seq FROM mam_messages WHERE domain = $1 AND username = $2"
    " ORDER BY seq DESC LIMIT 1 OFFSET $3)";

} // namespace dja::plugins::mam::sql
