#include "plugins/mam/pgsql/store.hpp"

#include <limits>

#include "plugins/mam/common/sql.hpp"

namespace dja::plugins::pgsql_mam {

namespace {

using pgsql::session;

/// The migrations (the SQL outlives the vector: a static string).
const std::vector<pgsql::migration>& steps() {
  static const std::string v1 = mam::sql::schema_v1("BIGSERIAL PRIMARY KEY");
  static const std::vector<pgsql::migration> s{v1.c_str(),
                                               mam::sql::schema_v2};
  return s;
}

constexpr const char* sql_insert
  = "INSERT INTO mam_messages (domain, username, id, stamp, with_bare,"
    " with_resource, outgoing, stanza) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (domain, username, id) DO NOTHING";

pgsql::params texts(const mam::sql::statement& st) {
  pgsql::params ps;
  for (auto& p : st.params)
    ps.push_back(p.integer ? std::to_string(p.i) : p.s);
  return ps;
}

} // namespace

store::store(std::string domain, pgsql::settings cfg)
  : domain_(std::move(domain)), db_(std::move(cfg), "mam", steps()) {
  // nop
}

caf::error store::start() {
  return db_.connect();
}

caf::error store::append(const mam::row* rows, size_t n) {
  return db_.run([&](session& s) -> caf::error {
    for (size_t i = 0; i < n; ++i) {
      auto& r = rows[i];
      auto res = s.exec(sql_insert, {domain_, r.user, r.id,
                                     std::to_string(r.stamp_us), r.with_bare,
                                     r.with_resource, r.outgoing ? "1" : "0",
                                     r.stanza});
      if (!res)
        return res.error();
    }
    return {};
  });
}

caf::expected<std::optional<int64_t>>
store::seq_of(const std::string& user, const std::string& id) {
  using out_t = std::optional<int64_t>;
  return db_.query<out_t>([&](session& s) -> caf::expected<out_t> {
    auto r = s.exec(mam::sql::seq_of, {domain_, user, id});
    if (!r)
      return r.error();
    if (r->rows() == 0)
      return out_t{};
    return out_t{r->integer(0, 0)};
  });
}

caf::expected<std::vector<mam::row>>
store::select(const std::string& user, const mam::filter& f, int64_t limit,
              bool backward, int64_t offset) {
  using rows = std::vector<mam::row>;
  auto st = mam::sql::select(domain_, user, f, limit, backward, offset);
  return db_.query<rows>([&](session& s) -> caf::expected<rows> {
    auto r = s.exec(st.text.c_str(), texts(st));
    if (!r)
      return r.error();
    rows out;
    for (int i = 0; i < r->rows(); ++i) {
      mam::row w;
      w.seq = r->integer(i, 0);
      w.user = user;
      w.id = r->text(i, 1);
      w.stamp_us = r->integer(i, 2);
      w.with_bare = r->text(i, 3);
      w.with_resource = r->text(i, 4);
      w.outgoing = r->integer(i, 5) != 0;
      w.stanza = r->text(i, 6);
      out.push_back(std::move(w));
    }
    return out;
  });
}

caf::expected<int64_t> store::count(const std::string& user,
                                    const mam::filter& f) {
  auto st = mam::sql::count(domain_, user, f);
  return db_.query<int64_t>([&](session& s) -> caf::expected<int64_t> {
    auto r = s.exec(st.text.c_str(), texts(st));
    if (!r)
      return r.error();
    return r->integer(0, 0);
  });
}

caf::expected<std::optional<std::string>>
store::get_prefs(const std::string& user) {
  using out_t = std::optional<std::string>;
  return db_.query<out_t>([&](session& s) -> caf::expected<out_t> {
    auto r = s.exec(mam::sql::prefs_get, {domain_, user});
    if (!r)
      return r.error();
    if (r->rows() == 0)
      return out_t{};
    return out_t{r->text(0, 0)};
  });
}

caf::error store::set_prefs(const std::string& user,
                            const std::string& prefs) {
  return db_.run([&](session& s) -> caf::error {
    auto r = s.exec(mam::sql::prefs_set, {domain_, user, prefs});
    return r ? caf::error{} : r.error();
  });
}

caf::expected<int64_t> store::prune(int64_t before_us, int64_t max_per_user) {
  return db_.query<int64_t>([&](session& s) -> caf::expected<int64_t> {
    int64_t n = 0;
    if (before_us != std::numeric_limits<int64_t>::min()) {
      auto r = s.exec(mam::sql::prune_old,
                      {domain_, std::to_string(before_us)});
      if (!r)
        return r.error();
      n += r->affected();
    }
    if (max_per_user > 0) {
      auto max = std::to_string(max_per_user);
      auto users = s.exec(mam::sql::over_quota, {domain_, max});
      if (!users)
        return users.error();
      for (int i = 0; i < users->rows(); ++i) {
        auto r = s.exec(mam::sql::prune_user, {domain_, users->text(i, 0),
                                               max});
        if (!r)
          return r.error();
        n += r->affected();
      }
    }
    return n;
  });
}

} // namespace dja::plugins::pgsql_mam
