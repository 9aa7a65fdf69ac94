#pragma once

// The library calls behind the password formats (plugins/sql/password.hpp),
// one per family of stored forms. Each compares in constant time and says
// verdict::unknown (with the form it did not understand) for a stored value
// it cannot check, so such a row never accepts a login.

#include <string>
#include <string_view>

#include "plugins/sql/password.hpp"

namespace dja::plugins::sql::hashes {

/// Lower-case hex of the OpenSSL digest `name` ("md5", "sha256", ...) of
/// `data`; "" when OpenSSL has no such digest.
std::string hex_digest(const std::string& name, std::string_view data);

/// Is `name` a digest OpenSSL knows?
bool known_digest(const std::string& name);

/// crypt(3) of libxcrypt (crypt_rn): bcrypt, sha512-crypt, yescrypt, ...
verdict check_crypt(const std::string& stored, std::string_view password,
                    std::string& unknown);

/// libargon2's argon2_verify() for `$argon2id$...`, `$argon2i$...`,
/// `$argon2d$...`.
verdict check_argon2(const std::string& stored, std::string_view password,
                     std::string& unknown);

/// Django: pbkdf2_sha256$ITER$SALT$B64 and pbkdf2_sha1$ (OpenSSL's
/// PKCS5_PBKDF2_HMAC), argon2$ENCODED and bcrypt$HASH.
verdict check_django(const std::string& stored, std::string_view password,
                     std::string& unknown);

/// Dovecot: {SCHEME}DATA (PLAIN, CLEARTEXT, PLAIN-MD5, LDAP-MD5, SHA,
/// SHA1, SHA256, SHA512, SMD5, SSHA, SSHA256, SSHA512, with .HEX / .B64
/// suffixes; CRYPT, MD5-CRYPT, SHA256-CRYPT, SHA512-CRYPT, BLF-CRYPT;
/// ARGON2I, ARGON2ID).
verdict check_dovecot(const std::string& stored, std::string_view password,
                      std::string& unknown);

/// Told by the prefix of `stored`: {SCHEME}, $argon2, $..$ (crypt), or a
/// Django algorithm$.
verdict check_auto(const std::string& stored, std::string_view password,
                   std::string& unknown);

/// New hashes of `password` for set_password / register, with fresh
/// random salts; "" when the library fails.
/// crypt(3) with `prefix` ("$2y$": bcrypt cost 10 as PHP's default,
/// "$6$": sha512-crypt) via crypt_gensalt_rn + crypt_rn.
std::string make_crypt(const std::string& prefix, std::string_view password);
/// argon2id with PHP's defaults (m = 64 MiB, t = 4, p = 1).
std::string make_argon2id(std::string_view password);
/// Django's pbkdf2_sha256$ (600000 iterations, Django 4.2's default).
std::string make_django(std::string_view password);

} // namespace dja::plugins::sql::hashes
