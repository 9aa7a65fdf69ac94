#define CAF_SUITE plugins.extdisco.service

// plugins/extdisco/service.cpp as plain functions: the TURN REST API
// credentials coturn accepts with `use-auth-secret` (the expected
// passwords computed independently with Python's hmac and base64
// modules), the RFC 7064/7065 URIs of the `services` option with their
// defaults and errors, and the XEP-0215 §2 <service/> element.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "common/xml.hpp"
#include "plugins/extdisco/service.hpp"

using namespace dja;
using namespace dja::plugins::extdisco;

namespace {

service parsed(std::string_view uri) {
  auto r = parse_service(uri);
  if (auto err = std::get_if<std::string>(&r))
    CAF_FAIL("unexpected error for " << uri << ": " << *err);
  return std::get<service>(r);
}

std::string error_of(std::string_view uri) {
  auto r = parse_service(uri);
  auto err = std::get_if<std::string>(&r);
  return err != nullptr ? *err : std::string{};
}

} // namespace

CAF_TEST(credentials follow the TURN REST API) {
  // hmac.new(b'north', b'1700086400:alice@localhost', sha1), base64
  auto c = make_credentials("north", 1700000000, 86400, "alice@localhost");
  CAF_CHECK_EQUAL(c.expires, 1700086400);
  CAF_CHECK_EQUAL(c.username, "1700086400:alice@localhost");
  CAF_CHECK_EQUAL(c.password, "kLEb2i5D+FYoV+DYIzD4ONNI6Rk=");
}

CAF_TEST(credentials without a user name have no colon) {
  auto c = make_credentials("north", 1700000000, 86400, "");
  CAF_CHECK_EQUAL(c.username, "1700086400");
  CAF_CHECK_EQUAL(c.password, "K+RlgFj3QLvB7WAVHfjfgMgyBeA=");
}

CAF_TEST(uris get the defaults of their scheme) {
  auto stun = parsed("stun:127.0.0.1");
  CAF_CHECK_EQUAL(stun.type, "stun");
  CAF_CHECK_EQUAL(stun.host, "127.0.0.1");
  CAF_CHECK_EQUAL(stun.port, 3478);
  CAF_CHECK_EQUAL(stun.transport, "udp");
  CAF_CHECK(!stun.restricted);
  auto turns = parsed("turns:turn.example.org");
  CAF_CHECK_EQUAL(turns.port, 5349);
  CAF_CHECK_EQUAL(turns.transport, "tcp");
  CAF_CHECK(turns.restricted);
  auto turn = parsed("turn:[::1]:3479?transport=tcp&restricted=false");
  CAF_CHECK_EQUAL(turn.host, "::1");
  CAF_CHECK_EQUAL(turn.port, 3479);
  CAF_CHECK_EQUAL(turn.transport, "tcp");
  CAF_CHECK(!turn.restricted);
}

CAF_TEST(bad uris say what was expected) {
  CAF_CHECK(error_of("turn:h:0").find("1..65535") != std::string::npos);
  CAF_CHECK(error_of("turn:h:70000").find("1..65535") != std::string::npos);
  CAF_CHECK(error_of("turn:h:").find("port") != std::string::npos);
  CAF_CHECK(error_of("http://h").find("scheme") != std::string::npos);
  CAF_CHECK(error_of("stun.example.org").find("scheme")
            != std::string::npos);
  CAF_CHECK(error_of("turn:h?transport=sctp").find("udp or tcp")
            != std::string::npos);
  CAF_CHECK(error_of("turn:h?ttl=1").find("query keys") != std::string::npos);
  CAF_CHECK(error_of("stun:").find("host") != std::string::npos);
}

CAF_TEST(the service element carries the credentials) {
  auto s = parsed("turn:turn.example.org?transport=udp");
  auto c = make_credentials("north", 1700000000, 86400, "alice@localhost");
  auto e = service_element(s, c);
  CAF_CHECK_EQUAL(e.ns, ns_extdisco);
  CAF_CHECK_EQUAL(e.attr_or("type"), "turn");
  CAF_CHECK_EQUAL(e.attr_or("host"), "turn.example.org");
  CAF_CHECK_EQUAL(e.attr_or("port"), "3478");
  CAF_CHECK_EQUAL(e.attr_or("transport"), "udp");
  CAF_CHECK_EQUAL(e.attr_or("restricted"), "1");
  CAF_CHECK_EQUAL(e.attr_or("username"), "1700086400:alice@localhost");
  CAF_CHECK_EQUAL(e.attr_or("password"), "kLEb2i5D+FYoV+DYIzD4ONNI6Rk=");
  CAF_CHECK_EQUAL(e.attr_or("expires"), "2023-11-15T22:13:20Z");
  auto open = service_element(parsed("stun:127.0.0.1"), std::nullopt);
  CAF_CHECK(open.attr("restricted") == nullptr);
  CAF_CHECK(open.attr("password") == nullptr);
}
