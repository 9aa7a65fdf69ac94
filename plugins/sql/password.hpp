#pragma once

// The password formats of existing user bases, checked with maintained
// libraries, never with hand-written hashes:
//
//  - libxcrypt's crypt_rn(3): bcrypt $2a$/$2b$/$2y$ (PHP password_hash),
//    sha512-crypt $6$, sha256-crypt $5$, md5-crypt $1$, yescrypt $y$;
//  - libargon2's argon2_verify(): $argon2id$, $argon2i$, $argon2d$;
//  - OpenSSL: md5/sha1/sha224/sha256/sha384/sha512 digests (EVP) and
//    PKCS5_PBKDF2_HMAC for Django's pbkdf2_sha256$ITER$SALT$HASH;
//  - Dovecot's per-row {SCHEME} prefixes over the same three.
//
// A format is a chain of steps applied in order (Openfire's
// passwordType = "md5,sha1" is sha1(md5(password)) in hex). Every step but
// the last turns the password into the input of the next one, so only
// the digests (and plain) may come before the last step. A digest step
// may carry a template of what is hashed, `sha256:{salt}{password}`
// ({password} is the value so far, {salt} the row's salt column, {user}
// and {domain} the account). Comparisons are constant-time.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dja::plugins::sql {

/// One step of a password format.
struct password_step {
  enum kind_t {
    plain,   ///< the stored value is the password
    digest,  ///< hex(H(template)); `name` is OpenSSL's digest name
    crypt,   ///< crypt(3) of libxcrypt, any prefix it knows
    argon2,  ///< libargon2's encoded form
    django,  ///< Django's `algorithm$...` forms
    dovecot, ///< a Dovecot {SCHEME} prefix per row
    automatic, ///< told by the stored value's prefix (crypt, argon2,
               ///< Django, Dovecot)
    scram,   ///< SCRAM columns (stored key, server key, salt, iterations)
  };
  kind_t kind = plain;
  std::string name;                   ///< "sha256", "SHA-1" for scram, ...
  std::string tmpl = "{password}";    ///< what a digest step hashes
};

/// A parsed `password_format`.
struct password_format {
  std::vector<password_step> steps;

  /// The SCRAM hash ("SHA-1" / "SHA-256") of a scram format, else "".
  std::string scram_hash() const;
  /// Can SCRAM credentials be derived (plain) or read (scram) per user?
  bool scram_capable() const;
};

/// Parses one step ("bcrypt", "sha256:{salt}{password}", "dovecot") or a
/// comma-separated chain ("md5,sha1"); nullopt with `err` saying what was
/// expected.
std::optional<password_format> parse_format(std::string_view text,
                                            std::string& err);

/// Parses a chain given as a list of steps.
std::optional<password_format>
parse_chain(const std::vector<std::string>& steps, std::string& err);

/// What a password row holds: the stored value and the optional salt.
struct stored_password {
  std::string value;
  std::string salt;
  std::string user;
  std::string domain;
};

/// The outcome of a check.
enum class verdict {
  accept,
  reject,
  unknown, ///< the stored value is in a form the format cannot check
};

/// Checks `password` against `stored` with `fmt` (not for scram formats,
/// whose rows are SCRAM credentials). `unknown` says which form was not
/// understood when the verdict is verdict::unknown (for a log line).
verdict verify(const password_format& fmt, const stored_password& stored,
               std::string_view password, std::string& unknown);

/// `password` in the stored form of `fmt`, for set_password_sql and
/// register_sql: plain, digest chains without {salt}, bcrypt ($2y$, as
/// PHP's password_hash), sha512-crypt, argon2id, django (pbkdf2_sha256).
/// nullopt when `fmt` cannot make one (salted digests, dovecot, auto,
/// scram) or the library failed.
std::optional<std::string> encode(const password_format& fmt,
                                  std::string_view password);

/// Can encode() make the stored form of `fmt`?
bool encodable(const password_format& fmt);

} // namespace dja::plugins::sql
