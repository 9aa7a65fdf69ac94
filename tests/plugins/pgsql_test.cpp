#define CAF_SUITE plugins.pgsql

// The shared PostgreSQL layer (plugins/common/pgsql) without a database:
// DSN checking, the hex helpers, and a connection to a server that is not
// there (a fast error, then the back-off answers at once). The behaviour
// against a real PostgreSQL is tested end to end by
// tests/e2e/test_pgsql_*.py.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include <caf/all.hpp>

#include "plugins/common/pgsql/connection.hpp"
#include "server/registry.hpp"

using namespace dja::plugins;

namespace {

pgsql::settings nowhere() {
  // A socket directory that does not exist: libpq fails at once.
  auto dir = std::filesystem::temp_directory_path() / "dja-pgsql-test-none";
  std::filesystem::remove_all(dir);
  pgsql::settings s;
  s.dsn = "host=" + dir.string() + " port=5999 dbname=x user=x";
  s.tag = "pgsql_test";
  return s;
}

} // namespace

CAF_TEST(dsn check accepts key value strings and URIs) {
  CAF_CHECK_EQUAL(pgsql::check_dsn("host=/run/postgresql dbname=xmpp"), "");
  CAF_CHECK_EQUAL(pgsql::check_dsn("postgresql://dja@db.example/xmpp"), "");
  CAF_CHECK_EQUAL(pgsql::check_dsn("dbname='with space' user=x"), "");
}

CAF_TEST(dsn check names what is wrong) {
  CAF_CHECK_NOT_EQUAL(pgsql::check_dsn(""), "");
  auto bad = pgsql::check_dsn("host=/tmp nonsense=1");
  CAF_CHECK(bad.find("nonsense") != std::string::npos);
  CAF_CHECK_NOT_EQUAL(pgsql::check_dsn("dbname='unterminated"), "");
}

CAF_TEST(the pgsql plugins require a dsn and check it) {
  for (auto name : {"auth.pgsql", "roster.pgsql", "offline.pgsql",
                    "vcard.pgsql", "private.pgsql"}) {
    auto t = find_type(name);
    CAF_REQUIRE(t != nullptr);
    auto& dsn = t->options.front();
    CAF_CHECK_EQUAL(dsn.key, "dsn");
    CAF_CHECK(dsn.required);
    CAF_REQUIRE(dsn.check);
    CAF_CHECK_NOT_EQUAL(dsn.check(toml::value<std::string>{"bogus=1"}), "");
    CAF_CHECK_EQUAL(dsn.check(toml::value<std::string>{"dbname=x"}), "");
  }
}

CAF_TEST(hex round trip) {
  std::string bytes{"\x00\x01\x7f\x80\xff ab", 8};
  auto h = pgsql::connection::hex(bytes);
  CAF_CHECK_EQUAL(h, "00017f80ff206162");
  CAF_CHECK_EQUAL(pgsql::connection::unhex(h), bytes);
  CAF_CHECK_EQUAL(pgsql::connection::unhex("zz"), "");
}

CAF_TEST(no database: an error at once and then the back-off answers) {
  pgsql::connection db{nowhere(), "test", {"CREATE TABLE t (x INT)"}};
  auto t0 = std::chrono::steady_clock::now();
  auto err = db.connect();
  CAF_CHECK(err);
  CAF_CHECK(!db.up());
  bool ran = false;
  err = db.run([&](pgsql::session&) -> caf::error {
    ran = true;
    return {};
  });
  CAF_CHECK(err);
  CAF_CHECK(!ran);
  CAF_CHECK(caf::to_string(err).find("next connection attempt")
            != std::string::npos);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}
