#pragma once

// Thin wrappers over OpenSSL libcrypto for SASL SCRAM (RFC 5802, RFC 7677):
// digests, HMAC, PBKDF2 (SCRAM's Hi()), random bytes and a constant-time
// comparison. Every byte string is a raw std::string (no hex, no base64).
//
// The functions throw std::runtime_error when OpenSSL itself fails (out of
// memory, no entropy): that is never a client's doing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dja::crypto {

enum class hash_fn { sha1, sha256 };

/// The IANA "Hash Function Textual Names": "SHA-1", "SHA-256" (as used in
/// SCRAM mechanism names and in hooks::auth_get_scram::hash).
const char* name(hash_fn h);

/// The inverse of name() (exact, case-sensitive); empty if unknown.
std::optional<hash_fn> hash_from_name(std::string_view name);

/// Output size in bytes: 20 for SHA-1, 32 for SHA-256.
std::size_t digest_size(hash_fn h);

/// H(data).
std::string digest(hash_fn h, std::string_view data);

/// HMAC(key, data) with H.
std::string hmac(hash_fn h, std::string_view key, std::string_view data);

/// PBKDF2-HMAC-H (RFC 8018) with an output of digest_size(h) bytes, i.e.
/// SCRAM's Hi(password, salt, iterations). `iterations` must be >= 1.
std::string pbkdf2(hash_fn h, std::string_view password, std::string_view salt,
                   uint32_t iterations);

/// `n` bytes from the OpenSSL CSPRNG.
std::string random_bytes(std::size_t n);

/// Constant-time (for equal sizes) comparison; different sizes compare
/// unequal at once (sizes are not secret here).
bool equal(std::string_view a, std::string_view b);

} // namespace dja::crypto
