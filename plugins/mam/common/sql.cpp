// The archive's shared SQL (sql.hpp).

#include "plugins/mam/common/sql.hpp"

#include <limits>

namespace dja::plugins::mam::sql {

namespace {

/// "WHERE ..." of `f` into `st`.
void where(statement& st, const std::string& domain, const std::string& user,
           const filter& f) {
  auto add = [&st](param p) {
    st.params.push_back(std::move(p));
    return "$" + std::to_string(st.params.size());
  };
  auto text = [&](const std::string& s) { return add(param{false, 0, s}); };
  auto num = [&](int64_t i) { return add(param{true, i, {}}); };
  st.text += " WHERE domain = " + text(domain);
  st.text += " AND username = " + text(user);
  if (!f.with_bare.empty()) {
    st.text += " AND with_bare = " + text(f.with_bare);
    if (f.with_resource)
      st.text += " AND with_resource = " + text(*f.with_resource);
  }
  if (f.start_us != std::numeric_limits<int64_t>::min())
    st.text += " AND stamp >= " + num(f.start_us);
  if (f.end_us != std::numeric_limits<int64_t>::max())
    st.text += " AND stamp <= " + num(f.end_us);
  if (f.after_seq > 0)
    st.text += " AND seq > " + num(f.after_seq);
  if (f.before_seq != std::numeric_limits<int64_t>::max())
    st.text += " AND seq < " + num(f.before_seq);
  if (!f.ids.empty()) {
    st.text += " AND id IN (";
    for (size_t i = 0; i < f.ids.size(); ++i)
      st.text += (i ? ", " : "") + text(f.ids[i]);
    st.text += ")";
  }
}

} // namespace

std::string schema_v1(const char* seq) {
  return std::string{"CREATE TABLE mam_messages (seq "} + seq + R"(,
       domain        TEXT     NOT NULL,
       username      TEXT     NOT NULL,
       id            TEXT     NOT NULL,
       stamp         BIGINT   NOT NULL,
       with_bare     TEXT     NOT NULL,
       with_resource TEXT     NOT NULL,
       outgoing      SMALLINT NOT NULL,
       stanza        TEXT     NOT NULL);
     CREATE UNIQUE INDEX mam_by_id ON mam_messages (domain, username, id);
     CREATE INDEX mam_by_user ON mam_messages (domain, username, seq);
     CREATE TABLE mam_prefs (
       domain   TEXT NOT NULL,
       username TEXT NOT NULL,
       prefs    TEXT NOT NULL,
       PRIMARY KEY (domain, username)))";
}

statement select(const std::string& domain, const std::string& user,
                 const filter& f, int64_t limit, bool backward,
                 int64_t offset) {
  statement st;
  st.text = "SELECT seq, id, stamp, with_bare, with_resource, outgoing, "
            "stanza FROM mam_messages";
  where(st, domain, user, f);
  st.text += backward ? " ORDER BY seq DESC" : " ORDER BY seq";
  st.params.push_back(param{true, limit, {}});
  st.text += " LIMIT $" + std::to_string(st.params.size());
  st.params.push_back(param{true, offset, {}});
  st.text += " OFFSET $" + std::to_string(st.params.size());
  return st;
}

statement count(const std::string& domain, const std::string& user,
                const filter& f) {
  statement st;
  st.text = "SELECT count(*) FROM mam_messages";
  where(st, domain, user, f);
  return st;
}

} // namespace dja::plugins::mam::sql
