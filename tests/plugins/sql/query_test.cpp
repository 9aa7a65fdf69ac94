#define CAF_SUITE plugins.sql.query

// Placeholders of the `sql` plugin's queries (plugins/sql/query.hpp):
// each becomes a positional parameter of the driver; nothing of a value
// ever reaches the SQL text.

#include "plugins/sql/query.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

using namespace dja::plugins::sql;

namespace {

const std::vector<param> all = {param::user,     param::domain,
                                param::jid,      param::password,
                                param::contact,  param::group};

std::optional<query> q(const char* sql, dialect d = dialect::sqlite,
                       std::vector<param> defaults = {param::user}) {
  std::string err;
  auto res = compile(sql, d, all, defaults, err);
  if (!res)
    CAF_MESSAGE(sql << ": " << err);
  return res;
}

} // namespace

CAF_TEST(named placeholders per dialect) {
  auto s = q("SELECT p FROM u WHERE n = :user AND d = :domain OR x = :user");
  CAF_REQUIRE(s);
  CAF_CHECK_EQUAL(s->text, "SELECT p FROM u WHERE n = ?1 AND d = ?2 OR x = ?3");
  CAF_CHECK((s->params
             == std::vector<param>{param::user, param::domain, param::user}));
  auto p = q("SELECT p FROM u WHERE n = :user::text", dialect::pgsql);
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->text, "SELECT p FROM u WHERE n = $1::text");
  auto m = q("SELECT p FROM u WHERE n = :user AND j = :jid", dialect::mariadb);
  CAF_REQUIRE(m);
  CAF_CHECK_EQUAL(m->text, "SELECT p FROM u WHERE n = ? AND j = ?");
}

CAF_TEST(openfire and dovecot placeholders) {
  auto o = q("UPDATE u SET p = ? WHERE n = ?", dialect::sqlite,
             {param::password, param::user});
  CAF_REQUIRE(o);
  CAF_CHECK((o->params == std::vector<param>{param::password, param::user}));
  CAF_CHECK(!q("SELECT 1 WHERE a = ? AND b = ?")); // one default only
  auto d = q("SELECT p FROM u WHERE login = %u OR (n = %n AND d = %d)");
  CAF_REQUIRE(d);
  CAF_CHECK((d->params
             == std::vector<param>{param::jid, param::user, param::domain}));
  // Modulo and LIKE patterns are left alone.
  auto l = q("SELECT p FROM u WHERE id % 2 = 0 AND n LIKE 'a%u' AND n = :user");
  CAF_REQUIRE(l);
  CAF_CHECK_EQUAL(l->params.size(), 1u);
}

CAF_TEST(quoted text is never a placeholder) {
  auto s = q("SELECT ':user', \"x:group\" FROM u WHERE n = :user");
  CAF_CHECK(!s); // ':user' alone in quotes: a mistake, said at config time
  auto t = q("SELECT 'at 12:30 or :users', `a?b` FROM u WHERE n = :user");
  CAF_REQUIRE(t);
  CAF_CHECK_EQUAL(t->params.size(), 1u);
  CAF_CHECK(!q("SELECT p FROM u WHERE n = '%u'")); // Dovecot's habit
  CAF_CHECK(!q("SELECT 'unclosed FROM u"));
}

CAF_TEST(mistakes are config errors) {
  CAF_CHECK(!q("SELECT p FROM u WHERE n = :usr"));
  CAF_CHECK(!q("SELECT p FROM u WHERE n = $1", dialect::pgsql));
  CAF_CHECK(!q("SELECT p FROM u WHERE n = ?1"));
  CAF_CHECK(!q("  ;  "));
  std::string err;
  CAF_CHECK(!compile("SELECT :password", dialect::sqlite, {param::user}, {},
                     err));
  CAF_CHECK(err.find(":password") != std::string::npos);
}
