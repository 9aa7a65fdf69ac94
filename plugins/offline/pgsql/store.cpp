#include "plugins/offline/pgsql/store.hpp"

#include <ctime>

namespace dja::plugins::pgsql_offline {

namespace {

using offline::row;
using pgsql::session;

const std::vector<pgsql::migration> steps{
  // 1: the messages, by recipient in arrival order.
  R"(CREATE TABLE offline_messages (
       id       BIGSERIAL PRIMARY KEY,
       domain   TEXT   NOT NULL,
       username TEXT   NOT NULL,
       stored   BIGINT NOT NULL,
       stanza   TEXT   NOT NULL);
     CREATE INDEX offline_by_user ON offline_messages (domain, username, id))",
};

/// Serializes add() per recipient (also across nodes sharing the
/// database), so the quota check and the insert cannot interleave.
constexpr const char* sql_lock =
  "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))";
constexpr const char* sql_count =
  "SELECT count(*) FROM offline_messages WHERE domain = $1 AND username = $2";
constexpr const char* sql_insert =
  "INSERT INTO offline_messages (domain, username, stored, stanza)"
  " VALUES ($1, $2, $3, $4)";
constexpr const char* sql_pending =
  "SELECT id, stanza FROM offline_messages WHERE domain = $1"
  " AND username = $2 ORDER BY id";
// The ids travel as one array literal parameter ('{1,2,3}').
constexpr const char* sql_remove =
  "DELETE FROM offline_messages WHERE domain = $1 AND username = $2"
  " AND id = ANY ($3::BIGINT[])";

std::string id_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (auto id : ids) {
    if (out.size() > 1)
      out += ',';
    out += std::to_string(id);
  }
  return out + "}";
}

caf::expected<std::vector<row>> select(session& s, const std::string& domain,
                                       const std::string& user) {
  auto r = s.exec(sql_pending, {domain, user});
  if (!r)
    return r.error();
  std::vector<row> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->integer(i, 0), r->text(i, 1)});
  return out;
}

caf::expected<int64_t> drop(session& s, const std::string& domain,
                            const std::string& user,
                            const std::vector<int64_t>& ids) {
  if (ids.empty())
    return int64_t{0};
  auto r = s.exec(sql_remove, {domain, user, id_array(ids)});
  if (!r)
    return r.error();
  return r->affected();
}

} // namespace

store::store(std::string domain, pgsql::settings cfg)
  : domain_(std::move(domain)), db_(std::move(cfg), "offline", steps) {
  // nop
}

caf::error store::start() {
  return db_.connect();
}

caf::expected<bool> store::add(const std::string& user,
                               const std::string& stanza, int64_t max) {
  auto& domain = domain_;
  auto now = std::to_string(static_cast<int64_t>(std::time(nullptr)));
  return db_.query<bool>([&](session& s) -> caf::expected<bool> {
    if (max > 0) {
      if (auto l = s.exec(sql_lock, {domain, user}); !l)
        return l.error();
      auto n = s.exec(sql_count, {domain, user});
      if (!n)
        return n.error();
      if (n->integer(0, 0) >= max)
        return false;
    }
    auto r = s.exec(sql_insert, {domain, user, now, stanza});
    if (!r)
      return r.error();
    return true;
  });
}

caf::expected<std::vector<row>> store::fetch(const std::string& user) {
  using rows = std::vector<row>;
  return db_.query<rows>([&](session& s) -> caf::expected<rows> {
    return select(s, domain_, user);
  });
}

caf::error store::remove(const std::string& user,
                         const std::vector<int64_t>& ids) {
  return db_.run([&](session& s) -> caf::error {
    auto n = drop(s, domain_, user, ids);
    return n ? caf::error{} : n.error();
  });
}

} // namespace dja::plugins::pgsql_offline
