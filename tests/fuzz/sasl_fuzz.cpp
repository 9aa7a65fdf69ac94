// Fuzz target: the server side of SASL (RFC 6120 §6): the PLAIN payload
// (RFC 4616 §2, actors/common/sasl_plain*) and a whole SCRAM exchange
// (RFC 5802, RFC 7677, actors/common/scram*) with the RFC examples' stored
// credentials, so that the fuzzer can reach the proof check and success.
//
// Input: one flag byte, then client-first-message '\n' client-final-message
// (raw, not base64); the whole input is also tried as a PLAIN payload.
// Flag bits: 0 SHA-256 (else SHA-1), 1 -PLUS chosen, 2 -PLUS offered,
// 3 tls-server-end-point (else tls-exporter), 4 unknown user.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.hpp"
#include "common/sasl_plain.hpp"
#include "common/scram.hpp"
#include "hooks/catalogue.hpp"
#include "fuzz_util.hpp"

using namespace dja;

namespace {

/// RFC 5802 §5 and RFC 7677 §3: user "user", password "pencil".
const hooks::scram_credentials& creds(crypto::hash_fn h) {
  static const auto sha1 = scram::derive(
    crypto::hash_fn::sha1, "pencil", *base64::decode("QSXCR+Q6sek8bf92"),
    4096);
  static const auto sha256 = scram::derive(
    crypto::hash_fn::sha256, "pencil",
    *base64::decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  return h == crypto::hash_fn::sha1 ? sha1 : sha256;
}

void check_plain(const std::string& in) {
  auto r = sasl_plain::decode(in);
  if (r.msg) {
    if (r.msg->authcid.empty() || r.msg->password.empty())
      fuzz::fail("PLAIN accepted an empty authcid or password", in);
    auto again = sasl_plain::decode(base64::encode(
      r.msg->authzid + '\0' + r.msg->authcid + '\0' + r.msg->password));
    if (!again.msg || again.msg->authcid != r.msg->authcid)
      fuzz::fail("PLAIN does not decode its own encoding", in);
  } else if (r.condition == nullptr) {
    fuzz::fail("PLAIN failure without a condition", in);
  }
  if (auto d = base64::decode(in); d && base64::encode(*d) != in)
    fuzz::fail("base64 is not canonical", in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096)
    return 0;
  std::string all{reinterpret_cast<const char*>(data), size};
  check_plain(all);
  auto flags = data[0];
  std::string_view rest{all};
  rest.remove_prefix(1);
  auto nl = rest.find('\n');
  auto first = rest.substr(0, nl);
  auto final_msg = nl == std::string_view::npos ? std::string_view{}
                                                : rest.substr(nl + 1);
  auto hash = flags & 1 ? crypto::hash_fn::sha256 : crypto::hash_fn::sha1;
  std::string cb_type = flags & 8 ? "tls-server-end-point" : "tls-exporter";
  scram::server_exchange ex{hash, (flags & 2) != 0, cb_type,
                            std::string(32, '\x5a'), (flags & 4) != 0};
  ex.set_server_nonce(hash == crypto::hash_fn::sha1
                        ? "3rfcNHYJY1ZVvWVs7j"
                        : "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  auto s = ex.client_first(first);
  if (s.kind == scram::server_exchange::step::failure) {
    if (s.data.empty())
      fuzz::fail("SCRAM failure without a condition", all);
    return 0;
  }
  if (s.kind != scram::server_exchange::step::need_credentials)
    fuzz::fail("client-first did not ask for credentials", all);
  s = ex.credentials(flags & 16 ? hooks::scram_credentials{} : creds(hash));
  if (s.kind != scram::server_exchange::step::challenge)
    fuzz::fail("credentials did not give a challenge", all);
  s = ex.client_final(final_msg);
  if (s.kind == scram::server_exchange::step::success && (flags & 16))
    fuzz::fail("SCRAM succeeded for an unknown user", all);
  if (s.kind == scram::server_exchange::step::failure && s.data.empty())
    fuzz::fail("SCRAM failure without a condition", all);
  // A finished exchange fails whatever comes next.
  if (ex.client_final(final_msg).kind != scram::server_exchange::step::failure)
    fuzz::fail("SCRAM exchange went on after it finished", all);
  return 0;
}
