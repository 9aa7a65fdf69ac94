#include "common/crypto.hpp"

#include <climits>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace dja::crypto {

namespace {

const EVP_MD* md_of(hash_fn h) {
  switch (h) {
    case hash_fn::sha1:
      return EVP_sha1();
    case hash_fn::sha256:
      return EVP_sha256();
  }
  throw std::invalid_argument("crypto: unknown hash function");
}

const unsigned char* bytes(std::string_view s) {
  // OpenSSL wants a valid pointer even for empty input (HMAC with a null
  // key fails in OpenSSL 3).
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

int int_size(std::string_view s) {
  if (s.size() > static_cast<std::size_t>(INT_MAX))
    throw std::length_error("crypto: input too large");
  return static_cast<int>(s.size());
}

} // namespace

const char* name(hash_fn h) {
  switch (h) {
    case hash_fn::sha1:
      return "SHA-1";
    case hash_fn::sha256:
      return "SHA-256";
  }
  return "?";
}

std::optional<hash_fn> hash_from_name(std::string_view name) {
  if (name == "SHA-1")
    return hash_fn::sha1;
  if (name == "SHA-256")
    return hash_fn::sha256;
  return std::nullopt;
}

std::size_t digest_size(hash_fn h) {
  return static_cast<std::size_t>(EVP_MD_get_size(md_of(h)));
}

std::string digest(hash_fn h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes(data), data.size(), out, &len, md_of(h), nullptr) != 1)
    throw std::runtime_error("crypto: EVP_Digest failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hmac(hash_fn h, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md_of(h), bytes(key), int_size(key), bytes(data), data.size(), out,
           &len)
      == nullptr)
    throw std::runtime_error("crypto: HMAC failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string pbkdf2(hash_fn h, std::string_view password, std::string_view salt,
                   uint32_t iterations) {
  if (iterations == 0 || iterations > static_cast<uint32_t>(INT_MAX))
    throw std::invalid_argument("crypto: bad PBKDF2 iteration count");
  std::string out(digest_size(h), '\0');
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(bytes(password)),
                        int_size(password), bytes(salt), int_size(salt),
                        static_cast<int>(iterations), md_of(h),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data()))
      != 1)
    throw std::runtime_error("crypto: PKCS5_PBKDF2_HMAC failed");
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n == 0)
    return out;
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::length_error("crypto: too many random bytes");
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n))
      != 1)
    throw std::runtime_error("crypto: RAND_bytes failed");
  return out;
}

bool equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  if (a.empty())
    return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace dja::crypto
