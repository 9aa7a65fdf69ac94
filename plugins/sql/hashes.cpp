// The library calls behind the password formats (plugins/sql/hashes.hpp):
// libxcrypt (crypt_rn), libargon2 (argon2_verify) and OpenSSL (EVP
// digests, PKCS5_PBKDF2_HMAC). Nothing here hashes by hand.

#include "plugins/sql/hashes.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"

namespace dja::plugins::sql::hashes {

namespace {

/// Django's iteration counts are in the hundreds of thousands; a row
/// asking for more than this is not checked (it would stall the worker).
constexpr long max_pbkdf2_iterations = 10'000'000;

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

verdict of(bool same) {
  return same ? verdict::accept : verdict::reject;
}

verdict unknown_form(std::string& unknown, std::string what) {
  unknown = std::move(what);
  return verdict::unknown;
}

/// The raw OpenSSL digest `name` of `data`; "" for an unknown digest.
std::string raw_digest(const std::string& name, std::string_view data) {
  auto md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr)
    return {};
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1)
    return {};
  return std::string{reinterpret_cast<char*>(out), len};
}

std::string to_hex(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

} // namespace

std::string hex_digest(const std::string& name, std::string_view data) {
  auto raw = raw_digest(name, data);
  return raw.empty() ? std::string{} : to_hex(raw);
}

bool known_digest(const std::string& name) {
  return EVP_get_digestbyname(name.c_str()) != nullptr;
}

verdict check_crypt(const std::string& stored, std::string_view password,
                    std::string& unknown) {
  // crypt_rn takes a NUL-terminated phrase: a password with a NUL byte
  // cannot be the one hashed.
  if (password.find('\0') != std::string_view::npos)
    return verdict::reject;
  auto data = std::make_unique<crypt_data>(); // ~32 KiB: not on the stack
  std::string phrase{password};
  auto res = crypt_rn(phrase.c_str(), stored.c_str(), data.get(),
                      sizeof(crypt_data));
  // NULL (or the "*" failure token) when libxcrypt does not know the
  // prefix or the setting is malformed.
  if (res == nullptr || res[0] == '*')
    return unknown_form(unknown,
                        "crypt(3) setting "
                          + stored.substr(0, stored.find('$', 1) + 1));
  return of(crypto::equal(res, stored));
}

verdict check_argon2(const std::string& stored, std::string_view password,
                     std::string& unknown) {
  argon2_type type;
  if (starts_with(stored, "$argon2id$"))
    type = Argon2_id;
  else if (starts_with(stored, "$argon2i$"))
    type = Argon2_i;
  else if (starts_with(stored, "$argon2d$"))
    type = Argon2_d;
  else
    return unknown_form(unknown, "argon2 value without $argon2id$, "
                                 "$argon2i$ or $argon2d$");
  auto rc = argon2_verify(stored.c_str(), password.data(), password.size(),
                          type);
  if (rc == ARGON2_OK)
    return verdict::accept;
  if (rc == ARGON2_VERIFY_MISMATCH)
    return verdict::reject;
  return unknown_form(unknown, std::string{"argon2 value ("}
                                 + argon2_error_message(rc) + ")");
}

verdict check_django(const std::string& stored, std::string_view password,
                     std::string& unknown) {
  auto dollar = stored.find('$');
  auto algo = stored.substr(0, dollar);
  if (dollar != std::string::npos && algo == "argon2")
    return check_argon2(stored.substr(dollar), password, unknown);
  if (dollar != std::string::npos && algo == "bcrypt")
    return check_crypt(stored.substr(dollar + 1), password, unknown);
  const EVP_MD* md = algo == "pbkdf2_sha256" ? EVP_sha256()
                     : algo == "pbkdf2_sha1" ? EVP_sha1()
                                             : nullptr;
  if (md == nullptr)
    return unknown_form(unknown, "Django algorithm " + algo);
  // pbkdf2_sha256$ITERATIONS$SALT$BASE64(HASH)
  auto p1 = stored.find('$', dollar + 1);
  auto p2 = p1 == std::string::npos ? p1 : stored.find('$', p1 + 1);
  if (p2 == std::string::npos)
    return unknown_form(unknown, "Django " + algo + " value (not "
                                 "ALGO$ITER$SALT$HASH)");
  auto iter_text = stored.substr(dollar + 1, p1 - dollar - 1);
  char* end = nullptr;
  auto iter = std::strtol(iter_text.c_str(), &end, 10);
  auto hash = base64::decode(stored.substr(p2 + 1));
  if (iter_text.empty() || *end != '\0' || iter < 1
      || iter > max_pbkdf2_iterations || !hash || hash->empty()
      || hash->size() > EVP_MAX_MD_SIZE)
    return unknown_form(unknown, "Django " + algo + " value (bad "
                                 "iterations or hash)");
  auto salt = stored.substr(p1 + 1, p2 - p1 - 1);
  unsigned char out[EVP_MAX_MD_SIZE];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iter),
                        md, static_cast<int>(hash->size()), out)
      != 1)
    return unknown_form(unknown, "Django " + algo + " (OpenSSL failed)");
  return of(crypto::equal({reinterpret_cast<char*>(out), hash->size()},
                          *hash));
}

verdict check_dovecot(const std::string& stored, std::string_view password,
                      std::string& unknown) {
  auto close = stored.find('}');
  if (stored.empty() || stored[0] != '{' || close == std::string::npos)
    return unknown_form(unknown, "Dovecot value without {SCHEME}");
  auto scheme = upper(stored.substr(1, close - 1));
  auto data = stored.substr(close + 1);
  // SCHEME.HEX / SCHEME.B64: the encoding of the digest.
  std::string enc;
  if (auto dot = scheme.rfind('.'); dot != std::string::npos) {
    enc = scheme.substr(dot + 1);
    scheme.resize(dot);
  }
  if (scheme == "PLAIN" || scheme == "CLEAR" || scheme == "CLEARTEXT")
    return of(crypto::equal(data, password));
  if (scheme == "CRYPT" || scheme == "MD5-CRYPT" || scheme == "SHA256-CRYPT"
      || scheme == "SHA512-CRYPT" || scheme == "BLF-CRYPT")
    return check_crypt(data, password, unknown);
  if (scheme == "ARGON2I" || scheme == "ARGON2ID")
    return check_argon2(data, password, unknown);
  // Digests: {PLAIN-MD5} is hex, the others base64 unless suffixed.
  static const std::pair<const char*, const char*> digests[] = {
    {"PLAIN-MD5", "md5"}, {"LDAP-MD5", "md5"},   {"MD5", "md5"},
    {"SHA", "sha1"},      {"SHA1", "sha1"},      {"SHA256", "sha256"},
    {"SHA512", "sha512"}, {"SMD5", "md5"},       {"SSHA", "sha1"},
    {"SSHA256", "sha256"}, {"SSHA512", "sha512"},
  };
  for (auto& [name, md] : digests) {
    if (scheme != name)
      continue;
    if (scheme == "MD5") // Dovecot's {MD5} is md5-crypt
      return check_crypt(data, password, unknown);
    bool hex = enc == "HEX" || (enc.empty() && scheme == "PLAIN-MD5");
    auto raw = hex ? std::optional<std::string>{lower(data)}
                   : base64::decode(data);
    if (!raw)
      return unknown_form(unknown, "Dovecot {" + scheme + "} value (not "
                                   "base64)");
    auto size = raw_digest(md, "").size();
    bool salted = scheme[0] == 'S' && scheme != "SHA" && scheme != "SHA1"
                  && scheme != "SHA256" && scheme != "SHA512";
    if (hex) {
      if (salted)
        return unknown_form(unknown, "Dovecot {" + scheme + ".HEX}");
      return of(crypto::equal(hex_digest(md, password), *raw));
    }
    if (raw->size() < size || (!salted && raw->size() != size))
      return unknown_form(unknown, "Dovecot {" + scheme + "} value (wrong "
                                   "length)");
    // Salted: base64(H(password + salt) + salt).
    auto salt = raw->substr(size);
    return of(crypto::equal(raw_digest(md, std::string{password} + salt),
                            raw->substr(0, size)));
  }
  return unknown_form(unknown, "Dovecot scheme {" + scheme + "}");
}

verdict check_auto(const std::string& stored, std::string_view password,
                   std::string& unknown) {
  if (starts_with(stored, "{"))
    return check_dovecot(stored, password, unknown);
  if (starts_with(stored, "$argon2"))
    return check_argon2(stored, password, unknown);
  if (starts_with(stored, "$"))
    return check_crypt(stored, password, unknown);
  auto dollar = stored.find('$');
  if (dollar != std::string::npos
      && (starts_with(stored, "pbkdf2_") || starts_with(stored, "argon2$")
          || starts_with(stored, "bcrypt$")))
    return check_django(stored, password, unknown);
  return unknown_form(unknown, "value with no known prefix (auto)");
}

std::string make_crypt(const std::string& prefix, std::string_view password) {
  if (password.find('\0') != std::string_view::npos)
    return {};
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // bcrypt: cost 10, PHP's default (libxcrypt's is 5); others: the
  // method's default (0).
  unsigned long count = prefix.rfind("$2", 0) == 0 ? 10 : 0;
  if (crypt_gensalt_rn(prefix.c_str(), count, nullptr, 0, setting,
                       sizeof(setting))
      == nullptr)
    return {};
  auto data = std::make_unique<crypt_data>();
  std::string phrase{password};
  auto res = crypt_rn(phrase.c_str(), setting, data.get(), sizeof(crypt_data));
  if (res == nullptr || res[0] == '*')
    return {};
  return res;
}

std::string make_argon2id(std::string_view password) {
  auto salt = crypto::random_bytes(16);
  char out[256];
  if (argon2id_hash_encoded(4, 65536, 1, password.data(), password.size(),
                            salt.data(), salt.size(), 32, out, sizeof(out))
      != ARGON2_OK)
    return {};
  return out;
}

std::string make_django(std::string_view password) {
  constexpr int iterations = 600000;
  // Django's salts are 22 alphanumerics; base64 letters and digits do.
  std::string salt;
  for (char c : base64::encode(crypto::random_bytes(24)))
    if (std::isalnum(static_cast<unsigned char>(c)) && salt.size() < 22)
      salt += c;
  unsigned char out[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), sizeof(out), out)
      != 1)
    return {};
  return "pbkdf2_sha256$" + std::to_string(iterations) + "$" + salt + "$"
         + base64::encode({reinterpret_cast<char*>(out), sizeof(out)});
}

} // namespace dja::plugins::sql::hashes
