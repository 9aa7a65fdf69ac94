// The password formats of the `sql` plugin (plugins/sql/password.hpp)
// against known vectors. How they were made (password "s3cret pass"
// unless said otherwise), with Debian's /usr/bin/python3:
//
//   hashlib.md5/sha1/sha256/sha512(...).hexdigest()     digests, salted
//   crypt.crypt(pw, "$2b$05$abcdefghijklmnopqrstuu")      bcrypt
//   crypt.crypt(pw, "$6$rounds=5000$saltsaltsalt$")       sha512-crypt
//   ctypes.CDLL("libargon2.so.1").argon2id_hash_encoded(2, 1024, 1, pw,
//     len, b"somesaltsomesalt", 16, 32, buf, 256)         argon2id/argon2i
//   "pbkdf2_sha256$1000$seasalt$" + b64encode(hashlib.pbkdf2_hmac(
//     "sha256", pw, b"seasalt", 1000))                    Django
//   "{SSHA256}" + b64encode(sha256(pw + salt).digest() + salt)  Dovecot
//
// and PHP's own password_verify() example ("rasmuslerdorf", a $2y$ hash
// from PHP's manual), made by PHP's password_hash, not by this library.

#define CAF_SUITE plugins.sql.password

#include "plugins/sql/password.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>

using namespace dja::plugins::sql;

namespace {

const std::string pw = "s3cret pass";

/// The verdict of `format` for `stored` (with `salt`) and `password`.
verdict check(const std::string& format, const std::string& stored,
              const std::string& password = pw,
              const std::string& salt = "") {
  std::string err;
  auto fmt = parse_format(format, err);
  if (!fmt) {
    CAF_FAIL("format " << format << " did not parse: " << err);
  }
  std::string unknown;
  return verify(*fmt, {stored, salt, "alice", "example.com"}, password,
                unknown);
}

/// `format` accepts `stored` for pw and rejects a wrong password.
void accepts(const std::string& format, const std::string& stored,
             const std::string& salt = "") {
  CAF_MESSAGE(format << " " << stored);
  CAF_CHECK(check(format, stored, pw, salt) == verdict::accept);
  CAF_CHECK(check(format, stored, pw + "x", salt) == verdict::reject);
  CAF_CHECK(check(format, stored, "", salt) == verdict::reject);
}

} // namespace

CAF_TEST(plaintext) {
  accepts("plain", pw);
  CAF_CHECK(check("plain", "") == verdict::reject);
}

CAF_TEST(hex digests with salt templates) {
  accepts("md5", "5211da5c87b0c916f11bbeb561492eef");
  accepts("MD5", "5211DA5C87B0C916F11BBEB561492EEF"); // upper-case hex
  accepts("sha1", "a21818805da492032545b1f51e510373394e73e3");
  accepts("sha256:{salt}{password}",
          "171f453c30096333e1be9f1dcc52d5f073d8c3f04cd7f758d1b26899b29994ec",
          "NaCl");
  accepts("sha512:{password}{salt}",
          "3de1ac0bee55ca76418d99247086347cb73d682417270ecafb5d84bcfab5d82"
          "77053f3bba7195b74c1949c4d51e5a2032ff60716414b596f34ef2206b53e4777",
          "NaCl");
}

CAF_TEST(chains) {
  accepts("md5,sha1", "b04c88e1e255f017df9051e6462b972e1a2c71fa");
  std::string err;
  auto f = parse_chain({"md5", "bcrypt"}, err);
  CAF_REQUIRE(f);
  std::string unknown;
  CAF_CHECK(verify(*f,
                   {"$2b$04$ABCDEFGHIJKLMNOPQRSTUufX.42Mwub.kTUJ.sODDkBwTVCQ3K"
                    "9z6"},
                   pw, unknown)
            == verdict::accept);
  // A stored form cannot feed another step.
  CAF_CHECK(!parse_chain({"bcrypt", "md5"}, err));
  CAF_CHECK(!parse_format("md5,scram-sha-1", err));
}

CAF_TEST(crypt via libxcrypt) {
  accepts("bcrypt", "$2b$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH"
                    "0ZEW");
  // PHP's password_hash writes $2y$ (the same algorithm as $2b$).
  accepts("bcrypt", "$2y$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH"
                    "0ZEW");
  CAF_CHECK(check("bcrypt",
                  "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fy"
                  "kk1a",
                  "rasmuslerdorf")
            == verdict::accept);
  accepts("sha512-crypt", "$6$rounds=5000$saltsaltsalt$xchLqdJaKHq28JJfkxk1"
                          "DpSsx0zIDyyfLblrb3S2Ienu.pu0q8oB0IPne962c8ozVonN"
                          "Y8Xcip6djiR9cM.dM0");
}

CAF_TEST(argon2 via libargon2) {
  accepts("argon2id", "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                      "gCcX8dmZ6WH4ONvYbH2hDgQbbMoy27WfYk+939ni4rw");
  accepts("argon2", "$argon2i$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                    "TcScZgxh2DxI75MBC/fsy7UO2pWw9Chl4ak5LY65q0M");
}

CAF_TEST(django pbkdf2 via OpenSSL) {
  accepts("django", "pbkdf2_sha256$1000$seasalt$akDJPWXjgTuK0zY4MPDwOjmP1+Dq"
                    "0UOtk7DL9EaZQD4=");
  CAF_CHECK(check("django", "pbkdf2_sha256$x$seasalt$akDJ")
            == verdict::unknown);
}

CAF_TEST(dovecot schemes per row) {
  accepts("dovecot", "{PLAIN}" + pw);
  accepts("dovecot", "{PLAIN-MD5}5211da5c87b0c916f11bbeb561492eef");
  accepts("dovecot", "{SHA256}CZp1TIJR+4oAG2ZCr7Ulm9LttwVne5OfbvTADKseY4k=");
  accepts("dovecot", "{SHA256.HEX}099a754c8251fb8a001b6642afb5259bd2edb705677"
                     "b939f6ef4c00cab1e6389");
  accepts("dovecot",
          "{SSHA256}hvFocSHR4ZwG3sVx/hUiYb6h53x1/w2Zu0z6PhLJL3oBAgME");
  accepts("dovecot", "{BLF-CRYPT}$2b$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPz"
                     "aCxLQ8/0lspH0ZEW");
  accepts("dovecot", "{ARGON2ID}$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21l"
                     "c2FsdA$gCcX8dmZ6WH4ONvYbH2hDgQbbMoy27WfYk+939ni4rw");
  CAF_CHECK(check("dovecot", "{RPA}abc") == verdict::unknown);
  CAF_CHECK(check("dovecot", "no scheme") == verdict::unknown);
}

CAF_TEST(auto tells the form by its prefix) {
  accepts("auto", "$2y$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH"
                  "0ZEW");
  accepts("auto", "pbkdf2_sha256$1000$seasalt$akDJPWXjgTuK0zY4MPDwOjmP1+Dq0U"
                  "Otk7DL9EaZQD4=");
  accepts("auto", "{SHA256}CZp1TIJR+4oAG2ZCr7Ulm9LttwVne5OfbvTADKseY4k=");
  CAF_CHECK(check("auto", pw) == verdict::unknown); // never plaintext
}

CAF_TEST(unknown forms never accept) {
  // The right password against a value the format cannot read.
  CAF_CHECK(check("bcrypt", pw) == verdict::unknown);
  // A bare md5 hex is not bcrypt (libxcrypt would read it as DES).
  CAF_CHECK(check("bcrypt", "5211da5c87b0c916f11bbeb561492eef")
            == verdict::unknown);
  CAF_CHECK(check("sha512-crypt", "$2b$05$abcdefghijklmnopqrstuu1qdcFaS0PtqF"
                                  "UPzaCxLQ8/0lspH0ZEW")
            == verdict::unknown);
  CAF_CHECK(check("bcrypt", "$9$nothing$") == verdict::unknown);
  CAF_CHECK(check("argon2id", "$argon2id$garbage") == verdict::unknown);
  CAF_CHECK(check("argon2id", "") == verdict::unknown);
  CAF_CHECK(check("crypt", "") == verdict::unknown);
  // A NUL byte in a password cannot match a crypt(3) hash.
  CAF_CHECK(check("bcrypt",
                  "$2b$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH0"
                  "ZEW",
                  pw + std::string(1, '\0') + "x")
            == verdict::reject);
}

CAF_TEST(bad formats are config errors) {
  std::string err;
  CAF_CHECK(!parse_format("rot13", err));
  CAF_CHECK(err.find("rot13") != std::string::npos);
  CAF_CHECK(!parse_format("sha256:{salt}", err)); // no {password}
  CAF_CHECK(!parse_format("bcrypt:{password}", err));
  CAF_CHECK(!parse_format("", err));
  auto f = parse_format("scram-sha-256", err);
  CAF_REQUIRE(f);
  CAF_CHECK_EQUAL(f->scram_hash(), "SHA-256");
  CAF_CHECK(f->scram_capable());
  CAF_CHECK(parse_format("plain", err)->scram_capable());
  CAF_CHECK(!parse_format("bcrypt", err)->scram_capable());
}

CAF_TEST(new passwords in the stored form) {
  std::string err;
  for (auto fmt : {"plain", "md5,sha1", "sha256", "bcrypt", "sha512-crypt",
                   "argon2id", "django"}) {
    CAF_MESSAGE(fmt);
    auto f = parse_format(fmt, err);
    CAF_REQUIRE(f);
    CAF_REQUIRE(encodable(*f));
    auto stored = encode(*f, pw);
    CAF_REQUIRE(stored);
    CAF_MESSAGE(*stored);
    accepts(fmt, *stored);
  }
  CAF_CHECK(!encodable(*parse_format("sha256:{salt}{password}", err)));
  CAF_CHECK(!encodable(*parse_format("dovecot", err)));
  CAF_CHECK(!encodable(*parse_format("scram-sha-1", err)));
}
