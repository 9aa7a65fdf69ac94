#define CAF_SUITE common.scram

#include "common/scram.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <toml++/toml.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "hooks/catalogue.hpp"
#include "server/registry.hpp"

using dja::crypto::hash_fn;
using dja::hooks::scram_credentials;
using dja::scram::server_exchange;
namespace crypto = dja::crypto;
namespace scram = dja::scram;
namespace base64 = dja::base64;

namespace {

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string b64d(std::string_view s) {
  auto r = base64::decode(s);
  return r ? *r : "<bad base64>";
}

/// "kind:data" (failures: "failure:condition").
std::string show(const server_exchange::step& s) {
  switch (s.kind) {
    case server_exchange::step::need_credentials:
      return "need_credentials:" + s.data;
    case server_exchange::step::challenge:
      return "challenge:" + s.data;
    case server_exchange::step::success:
      return "success:" + s.data;
    case server_exchange::step::failure:
      return "failure:" + s.data;
  }
  return "?";
}

/// The client side of SCRAM, written from RFC 5802 §3 for the tests.
struct client {
  hash_fn h;
  std::string password;
  std::string gs2_header = "n,,";
  std::string cb_data;       ///< appended to gs2_header in c= for 'p'
  std::string user = "user"; ///< already saslname-escaped
  std::string nonce = "fyko+d2lbbFgONRv9qkxdawL";
  std::string extensions;    ///< e.g. ",x=foo" before the proof

  std::string server_signature; ///< expected, after final()

  std::string first_bare() const { return "n=" + user + ",r=" + nonce; }
  std::string first() const { return gs2_header + first_bare(); }

  /// The client-final-message for `server_first` ("r=..,s=..,i=..").
  std::string final(const std::string& server_first,
                    std::string nonce_override = {}) {
    std::string r, s;
    uint32_t i = 0;
    for (size_t pos = 0; pos < server_first.size();) {
      auto comma = server_first.find(',', pos);
      if (comma == std::string::npos)
        comma = server_first.size();
      auto field = server_first.substr(pos, comma - pos);
      if (field.rfind("r=", 0) == 0)
        r = field.substr(2);
      else if (field.rfind("s=", 0) == 0)
        s = b64d(field.substr(2));
      else if (field.rfind("i=", 0) == 0)
        i = static_cast<uint32_t>(std::stoul(field.substr(2)));
      pos = comma + 1;
    }
    if (!nonce_override.empty())
      r = nonce_override;
    auto without_proof = "c=" + base64::encode(gs2_header + cb_data)
                         + ",r=" + r + extensions;
    auto auth_message = first_bare() + "," + server_first + ","
                        + without_proof;
    auto salted = crypto::pbkdf2(h, password, s, i);
    auto client_key = crypto::hmac(h, salted, "Client Key");
    auto stored_key = crypto::digest(h, client_key);
    auto signature = crypto::hmac(h, stored_key, auth_message);
    std::string proof(client_key.size(), '\0');
    for (size_t k = 0; k < proof.size(); ++k)
      proof[k] = static_cast<char>(client_key[k] ^ signature[k]);
    auto server_key = crypto::hmac(h, salted, "Server Key");
    server_signature
      = "v=" + base64::encode(crypto::hmac(h, server_key, auth_message));
    return without_proof + ",p=" + base64::encode(proof);
  }
};

scram_credentials pencil(hash_fn h, std::string salt = "salt-salt-salt!!") {
  return scram::derive(h, "pencil", std::move(salt), 4096);
}

/// Runs a whole exchange for `c` against credentials `creds`; returns the
/// last step.
std::string run(server_exchange& ex, client& c,
                const scram_credentials& creds) {
  auto s1 = ex.client_first(c.first());
  if (s1.kind != server_exchange::step::need_credentials)
    return show(s1);
  auto s2 = ex.credentials(creds);
  if (s2.kind != server_exchange::step::challenge)
    return show(s2);
  return show(ex.client_final(c.final(s2.data)));
}

/// The step for a client-first-message alone.
std::string first_of(std::string_view msg, bool plus = false,
                     bool plus_offered = false) {
  server_exchange ex{hash_fn::sha256, plus, "tls-exporter", "EKM",
                     plus_offered};
  return show(ex.client_first(msg));
}

} // namespace

// --- crypto -------------------------------------------------------------------

CAF_TEST(crypto test vectors) {
  CAF_CHECK_EQUAL(hex(crypto::digest(hash_fn::sha1, "abc")),
                  "a9993e364706816aba3e25717850c26c9cd0d89d");
  CAF_CHECK_EQUAL(
    hex(crypto::digest(hash_fn::sha256, "abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 2202 / RFC 4231, test case 2.
  CAF_CHECK_EQUAL(
    hex(crypto::hmac(hash_fn::sha1, "Jefe", "what do ya want for nothing?")),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CAF_CHECK_EQUAL(
    hex(crypto::hmac(hash_fn::sha256, "Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CAF_CHECK_EQUAL(hex(crypto::hmac(hash_fn::sha256, "", "")),
                  "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292"
                  "c5ad");
  // RFC 6070.
  CAF_CHECK_EQUAL(hex(crypto::pbkdf2(hash_fn::sha1, "password", "salt", 1)),
                  "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  CAF_CHECK_EQUAL(hex(crypto::pbkdf2(hash_fn::sha1, "password", "salt", 4096)),
                  "4b007901b765489abead49d926f721d065a429c1");
  CAF_CHECK_EQUAL(crypto::digest_size(hash_fn::sha1), 20u);
  CAF_CHECK_EQUAL(crypto::digest_size(hash_fn::sha256), 32u);
  CAF_CHECK_EQUAL(crypto::random_bytes(24).size(), 24u);
  CAF_CHECK_NOT_EQUAL(crypto::random_bytes(16), crypto::random_bytes(16));
  CAF_CHECK(crypto::equal("abc", "abc"));
  CAF_CHECK(crypto::equal("", ""));
  CAF_CHECK(!crypto::equal("abc", "abd"));
  CAF_CHECK(!crypto::equal("abc", "ab"));
  CAF_CHECK_EQUAL(std::string{crypto::name(hash_fn::sha1)}, "SHA-1");
  CAF_CHECK_EQUAL(std::string{crypto::name(hash_fn::sha256)}, "SHA-256");
  CAF_CHECK(crypto::hash_from_name("SHA-256") == hash_fn::sha256);
  CAF_CHECK(crypto::hash_from_name("SHA-1") == hash_fn::sha1);
  CAF_CHECK(!crypto::hash_from_name("sha-1"));
  CAF_CHECK(!crypto::hash_from_name("SHA-512"));
}

CAF_TEST(mechanism names) {
  CAF_CHECK_EQUAL(scram::mechanism_name(hash_fn::sha1, false), "SCRAM-SHA-1");
  CAF_CHECK_EQUAL(scram::mechanism_name(hash_fn::sha256, true),
                  "SCRAM-SHA-256-PLUS");
  auto m = scram::parse_mechanism("SCRAM-SHA-256-PLUS");
  CAF_REQUIRE(m);
  CAF_CHECK(m->hash == hash_fn::sha256);
  CAF_CHECK(m->plus);
  m = scram::parse_mechanism("SCRAM-SHA-1");
  CAF_REQUIRE(m);
  CAF_CHECK(m->hash == hash_fn::sha1);
  CAF_CHECK(!m->plus);
  CAF_CHECK(!scram::parse_mechanism("SCRAM-SHA-512"));
  CAF_CHECK(!scram::parse_mechanism("SCRAM--PLUS"));
  CAF_CHECK(!scram::parse_mechanism("PLAIN"));
  CAF_CHECK(!scram::parse_mechanism("scram-sha-1"));
}

// --- derive ---------------------------------------------------------------------

// Expected keys computed independently (Python hashlib/hmac).
CAF_TEST(derive yields the keys of the RFC examples) {
  auto c1 = scram::derive(hash_fn::sha1, "pencil", b64d("QSXCR+Q6sek8bf92"),
                          4096);
  CAF_CHECK(c1.found);
  CAF_CHECK_EQUAL(c1.iterations, 4096u);
  CAF_CHECK_EQUAL(base64::encode(c1.salt), "QSXCR+Q6sek8bf92");
  CAF_CHECK_EQUAL(hex(c1.stored_key),
                  "e9d94660c39d65c38fbad91c358f14da0eef2bd6");
  CAF_CHECK_EQUAL(hex(c1.server_key),
                  "0fe09258b3ac852ba502cc62ba903eaacdbf7d31");
  auto c256 = scram::derive(hash_fn::sha256, "pencil",
                            b64d("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  CAF_CHECK(c256.found);
  CAF_CHECK_EQUAL(
    hex(c256.stored_key),
    "586e5df283e6dceb5c3e791d8b8528ec191e664045ce971792e2e6b5bb13e2a6");
  CAF_CHECK_EQUAL(
    hex(c256.server_key),
    "c1f3cbc1c13a9d35a14c0990eed97629ea225863e566a4314ab99f3f00e5d9d5");
}

// --- the RFC examples --------------------------------------------------------------

CAF_TEST(rfc5802 section 5 SCRAM-SHA-1) {
  server_exchange ex{hash_fn::sha1, false, "", "", false};
  ex.set_server_nonce("3rfcNHYJY1ZVvWVs7j");
  CAF_CHECK_EQUAL(show(ex.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")),
                  "need_credentials:");
  CAF_CHECK_EQUAL(ex.username(), "user");
  CAF_CHECK_EQUAL(ex.authzid(), "");
  CAF_CHECK(!ex.channel_bound());
  auto creds = scram::derive(hash_fn::sha1, "pencil",
                             b64d("QSXCR+Q6sek8bf92"), 4096);
  CAF_CHECK_EQUAL(show(ex.credentials(creds)),
                  "challenge:r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                  "s=QSXCR+Q6sek8bf92,i=4096");
  CAF_CHECK_EQUAL(
    show(ex.client_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                         "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")),
    "success:v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  // The test client computes the RFC's messages too.
  client c{hash_fn::sha1, "pencil"};
  CAF_CHECK_EQUAL(c.final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                          "s=QSXCR+Q6sek8bf92,i=4096"),
                  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                  "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  CAF_CHECK_EQUAL(c.server_signature, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  // Done: nothing more is accepted.
  CAF_CHECK_EQUAL(show(ex.client_final("c=biws")), "failure:malformed-request");
}

CAF_TEST(rfc7677 section 3 SCRAM-SHA-256) {
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  ex.set_server_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  CAF_CHECK_EQUAL(show(ex.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")),
                  "need_credentials:");
  CAF_CHECK_EQUAL(ex.username(), "user");
  auto creds = scram::derive(hash_fn::sha256, "pencil",
                             b64d("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  CAF_CHECK_EQUAL(show(ex.credentials(creds)),
                  "challenge:r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$"
                  "k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  CAF_CHECK_EQUAL(
    show(ex.client_final("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
                         "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndV"
                         "Q=")),
    "success:v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

// --- failures at the proof --------------------------------------------------------

CAF_TEST(wrong proof) {
  // The RFC 5802 proof with its first byte changed.
  server_exchange ex{hash_fn::sha1, false, "", "", false};
  ex.set_server_nonce("3rfcNHYJY1ZVvWVs7j");
  ex.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ex.credentials(scram::derive(hash_fn::sha1, "pencil",
                               b64d("QSXCR+Q6sek8bf92"), 4096));
  auto proof = b64d("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  proof[0] = static_cast<char>(proof[0] ^ 1);
  auto s = ex.client_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
                           ",p="
                           + base64::encode(proof));
  CAF_CHECK_EQUAL(show(s), "failure:not-authorized");
  CAF_CHECK_EQUAL(s.reason, "invalid-proof");
  // A proof of the wrong size.
  server_exchange ex2{hash_fn::sha1, false, "", "", false};
  ex2.set_server_nonce("3rfcNHYJY1ZVvWVs7j");
  ex2.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ex2.credentials(scram::derive(hash_fn::sha1, "pencil",
                                b64d("QSXCR+Q6sek8bf92"), 4096));
  CAF_CHECK_EQUAL(
    show(ex2.client_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
                          ",p=AAAA")),
    "failure:not-authorized");
  // A client with the wrong password.
  for (auto h : {hash_fn::sha1, hash_fn::sha256}) {
    server_exchange ex3{h, false, "", "", false};
    client c{h, "pencil2"};
    CAF_CHECK_EQUAL(run(ex3, c, pencil(h)), "failure:not-authorized");
    server_exchange ex4{h, false, "", "", false};
    client good{h, "pencil"};
    auto result = run(ex4, good, pencil(h));
    CAF_CHECK_EQUAL(result, "success:" + good.server_signature);
  }
}

CAF_TEST(nonce mismatch) {
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  client c{hash_fn::sha256, "pencil"};
  ex.client_first(c.first());
  auto ch = ex.credentials(pencil(hash_fn::sha256));
  CAF_REQUIRE(ch.kind == server_exchange::step::challenge);
  // Random server nonce: 24 bytes in base64 after the client's.
  auto r = ch.data.substr(2, ch.data.find(',') - 2);
  CAF_CHECK_EQUAL(r.size(), c.nonce.size() + 32);
  CAF_CHECK_EQUAL(r.substr(0, c.nonce.size()), c.nonce);
  // The proof is right for the nonce the client sends, but that is not ours.
  auto s = ex.client_final(c.final(ch.data, c.nonce + "forged"));
  CAF_CHECK_EQUAL(show(s), "failure:not-authorized");
  CAF_CHECK_EQUAL(s.reason, "nonce mismatch");
  // The client's nonce alone is not enough either.
  server_exchange ex2{hash_fn::sha256, false, "", "", false};
  ex2.client_first(c.first());
  ch = ex2.credentials(pencil(hash_fn::sha256));
  CAF_CHECK_EQUAL(show(ex2.client_final(c.final(ch.data, c.nonce))),
                  "failure:not-authorized");
}

CAF_TEST(server nonces differ) {
  server_exchange a{hash_fn::sha256, false, "", "", false};
  server_exchange b{hash_fn::sha256, false, "", "", false};
  a.client_first("n,,n=user,r=abc");
  b.client_first("n,,n=user,r=abc");
  CAF_CHECK_NOT_EQUAL(a.credentials(pencil(hash_fn::sha256)).data,
                      b.credentials(pencil(hash_fn::sha256)).data);
}

CAF_TEST(unknown user) {
  // The exchange goes on with a plausible challenge and fails at the proof.
  client c{hash_fn::sha256, "pencil"};
  c.user = "nobody";
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  CAF_CHECK_EQUAL(show(ex.client_first(c.first())), "need_credentials:");
  auto ch = ex.credentials(scram_credentials{});
  CAF_REQUIRE(ch.kind == server_exchange::step::challenge);
  auto s_pos = ch.data.find(",s=");
  auto i_pos = ch.data.find(",i=");
  CAF_REQUIRE(s_pos != std::string::npos && i_pos != std::string::npos);
  auto salt = ch.data.substr(s_pos + 3, i_pos - s_pos - 3);
  CAF_CHECK_EQUAL(b64d(salt).size(), 16u);
  CAF_CHECK_EQUAL(ch.data.substr(i_pos), ",i=4096");
  auto s = ex.client_final(c.final(ch.data));
  CAF_CHECK_EQUAL(show(s), "failure:not-authorized");
  CAF_CHECK_EQUAL(s.reason, "invalid-proof");
  // The same user name gets the same salt next time; another one another.
  server_exchange ex2{hash_fn::sha256, false, "", "", false};
  ex2.client_first(c.first());
  auto ch2 = ex2.credentials(scram_credentials{});
  CAF_CHECK_EQUAL(ch2.data.substr(ch2.data.find(",s=")),
                  ch.data.substr(s_pos));
  server_exchange ex3{hash_fn::sha256, false, "", "", false};
  ex3.client_first("n,,n=somebody,r=abc");
  auto ch3 = ex3.credentials(scram_credentials{});
  CAF_CHECK_NOT_EQUAL(ch3.data.substr(ch3.data.find(",s=")),
                      ch.data.substr(s_pos));
}

CAF_TEST(unusable stored credentials) {
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  ex.client_first("n,,n=user,r=abc");
  // SHA-1 keys for a SHA-256 exchange.
  CAF_CHECK_EQUAL(show(ex.credentials(pencil(hash_fn::sha1))),
                  "failure:temporary-auth-failure");
  server_exchange ex2{hash_fn::sha256, false, "", "", false};
  ex2.client_first("n,,n=user,r=abc");
  auto creds = pencil(hash_fn::sha256);
  creds.iterations = 0;
  CAF_CHECK_EQUAL(show(ex2.credentials(creds)),
                  "failure:temporary-auth-failure");
}

CAF_TEST(out of sequence) {
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  CAF_CHECK_EQUAL(show(ex.client_final("c=biws,r=abc,p=AAAA")),
                  "failure:malformed-request");
  CAF_CHECK_EQUAL(show(ex.client_first("n,,n=user,r=abc")),
                  "failure:malformed-request");
  server_exchange ex2{hash_fn::sha256, false, "", "", false};
  CAF_CHECK_EQUAL(show(ex2.credentials(pencil(hash_fn::sha256))),
                  "failure:malformed-request");
  server_exchange ex3{hash_fn::sha256, false, "", "", false};
  ex3.client_first("n,,n=user,r=abc");
  CAF_CHECK_EQUAL(show(ex3.client_first("n,,n=user,r=abc")),
                  "failure:malformed-request");
}

// --- syntax ---------------------------------------------------------------------

CAF_TEST(client first message syntax) {
  const std::string need = "need_credentials:";
  const std::string bad = "failure:malformed-request";
  CAF_CHECK_EQUAL(first_of("n,,n=user,r=abc"), need);
  CAF_CHECK_EQUAL(first_of("y,,n=user,r=abc"), need);
  // Extensions other than m are ignored.
  CAF_CHECK_EQUAL(first_of("n,,n=user,r=abc,x=yz"), need);
  CAF_CHECK_EQUAL(first_of("n,,n=user,r=abc,x=y=z,t=1"), need);
  // Non-ASCII user names are fine.
  CAF_CHECK_EQUAL(first_of("n,,n=j\xC3\xBCrgen,r=abc"), need);
  for (auto msg : std::vector<std::string>{
         "",
         "n",
         "n,,",
         "n,,n=user",
         "n,,n=user,",
         "n,,n=user,r=abc,",
         "N,,n=user,r=abc",
         "x,,n=user,r=abc",
         "yn,,n=user,r=abc",
         "p,,n=user,r=abc",
         "p=,,n=user,r=abc",
         "p=tls exporter,,n=user,r=abc",
         "n,x=admin,n=user,r=abc",
         "n,a=,n=user,r=abc",
         "n,a=ad=2cmin,n=user,r=abc",
         "n,,r=abc,n=user",
         "n,,n=,r=abc",
         "n,,u=user,r=abc",
         "n,,n=us=3Fer,r=abc",
         "n,,n=user=,r=abc",
         "n,,n=user=2,r=abc",
         "n,,n=\xFFuser,r=abc",
         "n,,n=\xC3,r=abc",
         "n,,n=\xC0\xAF,r=abc",
         "n,,n=\xED\xA0\x80,r=abc",
         std::string{"n,,n=us\0er,r=abc", 16},
         "n,,n=user,r=",
         "n,,n=user,r=a b",
         "n,,n=user,r=ab\x7F",
         "n,,n=user,r=\xC3\xBC",
         "n,,n=user,x=abc",
         "n,,n=user,r=abc,1=x",
         "n,,n=user,r=abc,xy=z",
         "n,,n=user,r=abc,x=",
         "n,,n=user,r=abc,r=def",
         "n,,n=user,r=abc,n=other",
         // A mandatory extension is never understood.
         "n,,m=ext,n=user,r=abc",
         "n,,n=user,r=abc,m=ext",
       })
    CAF_CHECK_EQUAL(first_of(msg), bad);
}

CAF_TEST(saslname decoding) {
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  CAF_CHECK_EQUAL(show(ex.client_first("n,a=adm=2Cin=3D,n=us=2Cer=3D=3D,r=x")),
                  "need_credentials:");
  CAF_CHECK_EQUAL(ex.username(), "us,er==");
  CAF_CHECK_EQUAL(ex.authzid(), "adm,in=");
  // An escaped name and an authzid: the whole exchange works.
  server_exchange ex2{hash_fn::sha256, false, "", "", false};
  client c{hash_fn::sha256, "pencil"};
  c.user = "a=2Cb";
  c.gs2_header = "n,a=a=2Cb@example.com,";
  auto result = run(ex2, c, pencil(hash_fn::sha256));
    CAF_CHECK_EQUAL(result, "success:" + c.server_signature);
  CAF_CHECK_EQUAL(ex2.username(), "a,b");
  CAF_CHECK_EQUAL(ex2.authzid(), "a,b@example.com");
}

CAF_TEST(client final message syntax) {
  const std::string n = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
  const std::string proof = "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
  auto final_of = [&](const std::string& msg) {
    server_exchange ex{hash_fn::sha1, false, "", "", false};
    ex.set_server_nonce("3rfcNHYJY1ZVvWVs7j");
    ex.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    ex.credentials(scram::derive(hash_fn::sha1, "pencil",
                                 b64d("QSXCR+Q6sek8bf92"), 4096));
    return show(ex.client_final(msg));
  };
  const std::string bad = "failure:malformed-request";
  CAF_CHECK_EQUAL(final_of("c=biws,r=" + n + "," + proof),
                  "success:v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  for (auto msg : std::vector<std::string>{
         "",
         "c=biws",
         "c=biws,r=" + n,
         "c=biws,r=" + n + ",",
         "c=biws,r=" + n + "," + proof + ",",
         "r=" + n + ",c=biws," + proof,
         "c=biws," + proof + ",r=" + n,
         "c=biws,r=" + n + ",p=",
         "c=biws,r=" + n + ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts",
         "c=biws,r=" + n + ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=\n",
         "c=bi ws,r=" + n + "," + proof,
         "c=,r=" + n + "," + proof,
         "c=biws,r=" + n + ",m=x," + proof,
         "c=biws,r=" + n + ",1=x," + proof,
         "c=biws,r=" + n + ",r=" + n + "," + proof,
         "c=biws,r=," + proof,
         "c=biws,r=" + n + " ," + proof,
       })
    CAF_CHECK_EQUAL(final_of(msg), bad);
  // Unknown extensions are ignored, but they are part of the AuthMessage.
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  client c{hash_fn::sha256, "pencil"};
  c.extensions = ",x=foo,t=a=b";
  auto result = run(ex, c, pencil(hash_fn::sha256));
    CAF_CHECK_EQUAL(result, "success:" + c.server_signature);
}

// --- channel binding ------------------------------------------------------------

CAF_TEST(gs2 flags against the mechanism) {
  // 'y' while we offered -PLUS: a downgrade.
  auto s = server_exchange{hash_fn::sha256, false, "tls-exporter", "EKM", true}
             .client_first("y,,n=user,r=abc");
  CAF_CHECK_EQUAL(show(s), "failure:not-authorized");
  CAF_CHECK_EQUAL(s.reason, "server-does-support-channel-binding");
  // 'y' without -PLUS offered is fine, and c= must carry "y,,".
  {
    server_exchange ex{hash_fn::sha256, false, "tls-exporter", "EKM", false};
    client c{hash_fn::sha256, "pencil"};
    c.gs2_header = "y,,";
    auto result = run(ex, c, pencil(hash_fn::sha256));
    CAF_CHECK_EQUAL(result, "success:" + c.server_signature);
  }
  // 'n' with -PLUS offered: the client does not do channel binding; fine.
  CAF_CHECK_EQUAL(first_of("n,,n=user,r=abc", false, true),
                  "need_credentials:");
  // -PLUS needs 'p'.
  CAF_CHECK_EQUAL(first_of("n,,n=user,r=abc", true, true),
                  "failure:malformed-request");
  CAF_CHECK_EQUAL(first_of("y,,n=user,r=abc", true, true),
                  "failure:malformed-request");
  // 'p' needs -PLUS.
  CAF_CHECK_EQUAL(first_of("p=tls-exporter,,n=user,r=abc", false, true),
                  "failure:malformed-request");
  // A channel-binding type we cannot verify here.
  CAF_CHECK_EQUAL(first_of("p=tls-unique,,n=user,r=abc", true, true),
                  "failure:not-authorized");
  CAF_CHECK_EQUAL(first_of("p=tls-server-end-point,,n=user,r=abc", true, true),
                  "failure:not-authorized");
  CAF_CHECK_EQUAL(first_of("p=tls-exporter,,n=user,r=abc", true, true),
                  "need_credentials:");
  // Not on TLS: nothing to bind to.
  CAF_CHECK_EQUAL(show(server_exchange{hash_fn::sha256, true, "", "", false}
                         .client_first("p=tls-exporter,,n=user,r=abc")),
                  "failure:not-authorized");
}

CAF_TEST(c= must repeat the gs2 header) {
  // The first message said 'y', the final one says 'n'.
  server_exchange ex{hash_fn::sha256, false, "", "", false};
  client c{hash_fn::sha256, "pencil"};
  c.gs2_header = "y,,";
  ex.client_first(c.first());
  auto ch = ex.credentials(pencil(hash_fn::sha256));
  c.gs2_header = "n,,";
  auto s = ex.client_final(c.final(ch.data));
  CAF_CHECK_EQUAL(show(s), "failure:not-authorized");
  CAF_CHECK_EQUAL(s.reason, "channel-bindings-dont-match");
}

// A complete SCRAM-SHA-256-PLUS exchange, client side computed here.
CAF_TEST(SCRAM-SHA-256-PLUS with tls-exporter) {
  auto ekm = crypto::random_bytes(32);
  auto creds = scram::derive(hash_fn::sha256, "s3cr3t p\xC3\xA4ss",
                             crypto::random_bytes(16), 4096);
  for (auto cb_type : {"tls-exporter", "tls-server-end-point"}) {
    // Matching channel binding data.
    {
      server_exchange ex{hash_fn::sha256, true, cb_type, ekm, true};
      client c{hash_fn::sha256, "s3cr3t p\xC3\xA4ss"};
      c.user = "juliet";
      c.nonce = base64::encode(crypto::random_bytes(18));
      c.gs2_header = std::string{"p="} + cb_type + ",a=juliet@example.com,";
      c.cb_data = ekm;
      CAF_CHECK_EQUAL(show(ex.client_first(c.first())), "need_credentials:");
      CAF_CHECK(ex.channel_bound());
      CAF_CHECK_EQUAL(ex.username(), "juliet");
      CAF_CHECK_EQUAL(ex.authzid(), "juliet@example.com");
      auto ch = ex.credentials(creds);
      CAF_REQUIRE(ch.kind == server_exchange::step::challenge);
      CAF_CHECK_EQUAL(ch.data.rfind("r=" + c.nonce, 0), 0u);
      auto fin = ex.client_final(c.final(ch.data));
      CAF_CHECK_EQUAL(show(fin), "success:" + c.server_signature);
      // The client checks the server signature.
      CAF_CHECK(crypto::equal(fin.data, c.server_signature));
    }
    // The client's TLS channel differs from ours (a man in the middle).
    {
      server_exchange ex{hash_fn::sha256, true, cb_type, ekm, true};
      client c{hash_fn::sha256, "s3cr3t p\xC3\xA4ss"};
      c.gs2_header = std::string{"p="} + cb_type + ",,";
      c.cb_data = crypto::random_bytes(32);
      auto s = run(ex, c, creds);
      CAF_CHECK_EQUAL(s, "failure:not-authorized");
    }
    // No channel binding data at all in c=.
    {
      server_exchange ex{hash_fn::sha256, true, cb_type, ekm, true};
      client c{hash_fn::sha256, "s3cr3t p\xC3\xA4ss"};
      c.gs2_header = std::string{"p="} + cb_type + ",,";
      CAF_CHECK_EQUAL(run(ex, c, creds), "failure:not-authorized");
    }
  }
  // SCRAM-SHA-1-PLUS too.
  server_exchange ex{hash_fn::sha1, true, "tls-exporter", ekm, true};
  client c{hash_fn::sha1, "pencil"};
  c.gs2_header = "p=tls-exporter,,";
  c.cb_data = ekm;
  auto result = run(ex, c, pencil(hash_fn::sha1));
    CAF_CHECK_EQUAL(result, "success:" + c.server_signature);
}

// --- auth.static serves auth.get_scram -------------------------------------------

CAF_TEST(auth.static derives SCRAM credentials) {
  using answer = dja::hooks::answer<scram_credentials>;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  toml::table options;
  options.insert("users", toml::table{{"Alice", "pencil"}});
  dja::plugins::manifest all;
  dja::plugins::spawn_context ctx{sys, "example.com", "/nonexistent", options,
                                  all, caf::actor{}};
  auto type = dja::plugins::find_type("auth.static");
  CAF_REQUIRE(type != nullptr);
  auto served = type->describe(options).hooks;
  CAF_CHECK(std::find(served.begin(), served.end(),
                      dja::hooks::id<dja::hooks::auth_get_scram>)
            != served.end());
  auto plugin = type->spawn(ctx);
  auto ask = [&](const char* user, const char* hash) {
    answer out;
    out.value.iterations = 12345; // "no reply"
    self
      ->request(plugin, std::chrono::seconds(30),
                dja::hooks::auth_get_scram{*dja::jid::make(user, "example.com"),
                                           hash})
      .receive([&](answer& a) { out = std::move(a); },
               [&](caf::error& e) {
                 CAF_FAIL("auth.get_scram failed: " << caf::to_string(e));
               });
    return out;
  };
  for (auto h : {hash_fn::sha1, hash_fn::sha256}) {
    auto a = ask("alice", crypto::name(h));
    CAF_REQUIRE(!a.declined);
    CAF_CHECK(a.value.found);
    CAF_CHECK_EQUAL(a.value.iterations, 4096u);
    std::string label = "djabberd-actors static salt";
    label += '\0';
    label += "example.com";
    label += '\0';
    label += "alice";
    auto salt = crypto::digest(hash_fn::sha256, label).substr(0, 16);
    CAF_CHECK_EQUAL(hex(a.value.salt), hex(salt));
    auto expected = scram::derive(h, "pencil", salt, 4096);
    CAF_CHECK_EQUAL(hex(a.value.stored_key), hex(expected.stored_key));
    CAF_CHECK_EQUAL(hex(a.value.server_key), hex(expected.server_key));
    // Cached: the same again.
    auto again = ask("alice", crypto::name(h));
    CAF_CHECK_EQUAL(hex(again.value.stored_key), hex(expected.stored_key));
    // And a client with the password gets in.
    server_exchange ex{h, false, "", "", false};
    client c{h, "pencil"};
    c.user = "alice";
    auto result = run(ex, c, a.value);
    CAF_CHECK_EQUAL(result, "success:" + c.server_signature);
  }
  CAF_CHECK(ask("bob", "SHA-256").declined);
  CAF_CHECK(ask("alice", "SHA-512").declined);
  self->send_exit(plugin, caf::exit_reason::user_shutdown);
}
