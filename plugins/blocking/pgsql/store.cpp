#include "plugins/blocking/pgsql/store.hpp"

#include <algorithm>

namespace dja::plugins::pgsql_blocking {

namespace {

using pgsql::session;
using strings = std::vector<std::string>;

const std::vector<pgsql::migration> steps{
  // 1: the items, by user.
  R"(CREATE TABLE blocked_jids (
       domain   TEXT NOT NULL,
       username TEXT NOT NULL,
       item     TEXT NOT NULL,
       PRIMARY KEY (domain, username, item)))",
};

constexpr const char* sql_list =
  "SELECT item FROM blocked_jids WHERE domain = $1 AND username = $2"
  " ORDER BY item COLLATE \"C\"";
constexpr const char* sql_add =
  "INSERT INTO blocked_jids (domain, username, item) VALUES ($1, $2, $3)"
  " ON CONFLICT DO NOTHING";
constexpr const char* sql_remove = "DELETE FROM blocked_jids WHERE domain = $1"
                                   " AND username = $2 AND item = $3";
constexpr const char* sql_remove_all =
  "DELETE FROM blocked_jids WHERE domain = $1 AND username = $2"
  " RETURNING item";

strings column(const pgsql::result& r) {
  strings out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(r.text(i, 0));
  return out;
}

} // namespace

store::store(std::string domain, pgsql::settings cfg)
  : domain_(std::move(domain)), db_(std::move(cfg), "blocking", steps) {
  // nop
}

caf::error store::connect() {
  return db_.connect();
}

caf::expected<strings> store::list(const std::string& user) {
  return db_.query<strings>([&](session& s) -> caf::expected<strings> {
    auto r = s.exec(sql_list, {domain_, user});
    if (!r)
      return r.error();
    return column(*r);
  });
}

caf::error store::add(const std::string& user, const strings& items) {
  return db_.run([&](session& s) -> caf::error {
    for (auto& item : items)
      if (auto r = s.exec(sql_add, {domain_, user, item}); !r)
        return r.error();
    return {};
  });
}

caf::expected<strings> store::remove(const std::string& user,
                                     const strings& items) {
  return db_.query<strings>([&](session& s) -> caf::expected<strings> {
    if (items.empty()) {
      auto r = s.exec(sql_remove_all, {domain_, user});
      if (!r)
        return r.error();
      auto out = column(*r);
      std::sort(out.begin(), out.end());
      return out;
    }
    strings removed;
    for (auto& item : items) {
      auto r = s.exec(sql_remove, {domain_, user, item});
      if (!r)
        return r.error();
      if (r->affected() > 0)
        removed.push_back(item);
    }
    return removed;
  });
}

} // namespace dja::plugins::pgsql_blocking
