#define CAF_SUITE plugins.extdisco.config

// The extdisco options in the config check: a bad URI or port and a
// restricted TURN service without a secret stop the start with
// FILE:LINE: KEY: what was expected; a good block loads.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "server/config.hpp"

using namespace dja::config;

namespace {

/// The listener and vhost (lines 1-6), then the extdisco block (line 7).
std::string with(const std::string& block) {
  return "[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\nport = 5222\n"
         "[[vhost]]\ndomain = \"localhost\"\n"
         "[[vhost.plugin]]\ntype = \"extdisco\"\n"
         + block;
}

std::string errors_of(const std::string& text) {
  auto r = load_text(text, "test.toml");
  std::string res;
  for (auto& e : r.errors)
    res += e.to_string() + "\n";
  return res;
}

} // namespace

CAF_TEST(a good block loads) {
  CAF_CHECK_EQUAL(errors_of(with("services = [\"stun:127.0.0.1:3478\", "
                                 "\"turn:t.localhost?transport=tcp\"]\n"
                                 "secret = \"north\"\nttl = 600\n")),
                  "");
  CAF_MESSAGE("an unrestricted TURN service needs no secret");
  CAF_CHECK_EQUAL(errors_of(with("services = [\"turn:t.localhost?"
                                 "restricted=false\"]\n")),
                  "");
}

CAF_TEST(a bad port names the services key and its line) {
  auto e = errors_of(with("secret = \"s\"\nservices = [\"stun:h\", "
                          "\"turn:h:99999\"]\n"));
  CAF_CHECK(e.rfind("test.toml:10: vhost[0].plugin[0].services: ", 0) == 0);
  CAF_CHECK(e.find("1..65535, got \"99999\"") != std::string::npos);
  CAF_CHECK(e.find("at item 1") != std::string::npos);
  e = errors_of(with("services = [\"http://h\"]\n"));
  CAF_CHECK(e.rfind("test.toml:9: vhost[0].plugin[0].services: ", 0) == 0);
}

CAF_TEST(a restricted service without a secret names the secret) {
  auto e = errors_of(with("services = [\"turn:turn.localhost\"]\n"));
  CAF_CHECK(e.rfind("test.toml:7: vhost[0].plugin[0].secret: a shared "
                    "secret",
                    0)
            == 0);
  CAF_CHECK(e.find("restricted service turn:turn.localhost")
            != std::string::npos);
  e = errors_of(with("services = [\"turns:h\"]\nsecret = \"\"\n"));
  CAF_CHECK(e.rfind("test.toml:10: vhost[0].plugin[0].secret: ", 0) == 0);
}

CAF_TEST(other bad values) {
  auto e = errors_of(with("services = []\n"));
  CAF_CHECK(e.find("services: an array of STUN/TURN URIs")
            != std::string::npos);
  e = errors_of(with("services = [\"stun:h\"]\nttl = 5\n"));
  CAF_CHECK(e.rfind("test.toml:10: vhost[0].plugin[0].ttl: ", 0) == 0);
  e = errors_of(with("ttl = 600\n"));
  CAF_CHECK(e.find("services: an array of strings (required by extdisco)")
            != std::string::npos);
}
