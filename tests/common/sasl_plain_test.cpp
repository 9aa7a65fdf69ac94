#define CAF_SUITE common.sasl_plain

#include "common/sasl_plain.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>

#include "common/base64.hpp"

using namespace dja;

namespace {

std::string cond(const std::string& b64) {
  auto r = sasl_plain::decode(b64);
  return r.msg ? "ok" : r.condition;
}

} // namespace

CAF_TEST(RFC 4616 messages decode into their three parts) {
  auto r = sasl_plain::decode(
    base64::encode(std::string{"admin\0juliet\0pw", 15}));
  CAF_REQUIRE(r.msg);
  CAF_CHECK_EQUAL(r.msg->authzid, "admin");
  CAF_CHECK_EQUAL(r.msg->authcid, "juliet");
  CAF_CHECK_EQUAL(r.msg->password, "pw");
  r = sasl_plain::decode(base64::encode(std::string{"\0juliet\0pw", 10}));
  CAF_REQUIRE(r.msg);
  CAF_CHECK_EQUAL(r.msg->authzid, "");
}

CAF_TEST(failures name their RFC 6120 conditions) {
  CAF_CHECK_EQUAL(cond("not base64!"), "incorrect-encoding");
  CAF_CHECK_EQUAL(cond("="), "malformed-request"); // empty response
  CAF_CHECK_EQUAL(cond(base64::encode("juliet")), "malformed-request");
  CAF_CHECK_EQUAL(cond(base64::encode(std::string{"\0\0pw", 4})),
                  "malformed-request");
  CAF_CHECK_EQUAL(cond(base64::encode(std::string{"\0juliet\0", 8})),
                  "not-authorized");
  CAF_CHECK_EQUAL(cond(base64::encode(std::string{"\0a\0b\0c", 6})),
                  "malformed-request");
}

CAF_TEST(base64 with pad bits set is incorrect-encoding) {
  // RFC 4648 §3.5; found by tests/fuzz (corpus/sasl/crash-base64-pad-bits):
  // "AGp1bGlld+==" decoded like "AGp1bGlldA==".
  CAF_CHECK_EQUAL(cond("AGp1bGlld+=="), "incorrect-encoding");
  CAF_CHECK_EQUAL(cond("AGp1bGlldA=="), "malformed-request");
  CAF_CHECK(!base64::decode("QR=="));
  CAF_CHECK(!base64::decode("QUF="));
  CAF_CHECK_EQUAL(*base64::decode("QUE="), "AA");
}
