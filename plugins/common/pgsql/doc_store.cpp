#include "plugins/common/pgsql/doc_store.hpp"

namespace dja::plugins::pgsql {

doc_store::doc_store(settings cfg, const std::string& table)
  : create_("CREATE TABLE " + table
            + " (domain   TEXT   NOT NULL,"
              " username TEXT   NOT NULL,"
              " key      TEXT   NOT NULL,"
              " value    TEXT   NOT NULL,"
              " updated  BIGINT NOT NULL,"
              " PRIMARY KEY (domain, username, key))"),
    get_("SELECT value, updated FROM " + table
         + " WHERE domain = $1 AND username = $2 AND key = $3"),
    put_("INSERT INTO " + table
         + " (domain, username, key, value, updated)"
           " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain, username, key)"
           " DO UPDATE SET value = EXCLUDED.value,"
           " updated = EXCLUDED.updated"),
    remove_("DELETE FROM " + table
            + " WHERE domain = $1 AND username = $2 AND key = $3"),
    sizes_("SELECT key, octet_length(value) FROM " + table
           + " WHERE domain = $1 AND username = $2"),
    db_(std::move(cfg), table, {create_.c_str()}) {
  // nop
}

caf::error doc_store::connect() {
  return db_.connect();
}

caf::expected<doc> doc_store::get(const std::string& domain,
                                  const std::string& user,
                                  const std::string& key) {
  return db_.query<doc>([&](session& s) -> caf::expected<doc> {
    auto r = s.exec(get_.c_str(), {domain, user, key});
    if (!r)
      return r.error();
    doc d;
    if (r->rows() > 0) {
      d.found = true;
      d.value = r->text(0, 0);
      d.updated = r->integer(0, 1);
    }
    return d;
  });
}

caf::error doc_store::put(
  const std::string& domain, const std::string& user,
  const std::vector<std::pair<std::string, std::string>>& docs,
  int64_t updated) {
  auto when = std::to_string(updated);
  return db_.run([&](session& s) -> caf::error {
    for (auto& [key, value] : docs)
      if (auto r = s.exec(put_.c_str(), {domain, user, key, value, when}); !r)
        return r.error();
    return {};
  });
}

caf::error doc_store::remove(const std::string& domain,
                             const std::string& user,
                             const std::string& key) {
  return db_.run([&](session& s) -> caf::error {
    auto r = s.exec(remove_.c_str(), {domain, user, key});
    return r ? caf::error{} : r.error();
  });
}

caf::expected<std::map<std::string, int64_t>>
doc_store::sizes(const std::string& domain, const std::string& user) {
  using sizes_t = std::map<std::string, int64_t>;
  return db_.query<sizes_t>([&](session& s) -> caf::expected<sizes_t> {
    auto r = s.exec(sizes_.c_str(), {domain, user});
    if (!r)
      return r.error();
    sizes_t out;
    for (int i = 0; i < r->rows(); ++i)
      out[r->text(i, 0)] = r->integer(i, 1);
    return out;
  });
}

} // namespace dja::plugins::pgsql
