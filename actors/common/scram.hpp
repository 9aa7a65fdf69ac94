#pragma once

// SASL SCRAM (RFC 5802), SCRAM-SHA-256 (RFC 7677) and the -PLUS variants
// with channel binding (RFC 5929 tls-unique and tls-server-end-point,
// RFC 9266 tls-exporter), server side.
//
// The connection actor drives a server_exchange with the decoded SASL
// payloads and asks the `auth.get_scram` hook for the stored credentials
// in between:
//
//   <auth mechanism="SCRAM-SHA-256">   -> client_first()  = need_credentials
//   auth.get_scram(username(), "SHA-256") answers
//                                      -> credentials()   = challenge
//   <response>                         -> client_final()  = success/failure
//
// No password ever reaches the exchange: it only needs StoredKey and
// ServerKey. Failure conditions are RFC 6120 §6.5 names (the child of
// <failure/>):
//
//   malformed-request        the payload violates the RFC 5802 §7 grammar;
//                            a mandatory extension (m=) or any extension
//                            named m; a channel-binding flag that does not
//                            fit the mechanism ('n' or 'y' with -PLUS, 'p='
//                            without -PLUS); bad base64 inside c= or p=.
//   not-authorized           wrong proof, unknown user (indistinguishable),
//                            wrong nonce, channel-binding data that does
//                            not match, a channel-binding type this
//                            connection cannot verify (no TLS, other type),
//                            'y' while the server offered -PLUS (downgrade,
//                            RFC 5802 §6).
//   temporary-auth-failure   the stored credentials are unusable (a plugin
//                            bug: wrong key sizes, zero iterations).
//
// A failure ends the exchange; every later call fails again.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/crypto.hpp"
#include "common/scram_credentials.hpp"

namespace dja::scram {

using crypto::hash_fn;

/// The SASL mechanism name: "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", ...
std::string mechanism_name(hash_fn h, bool plus);

struct mechanism {
  hash_fn hash;
  bool plus;
};

/// Parses a mechanism name as mechanism_name() writes it (exact, upper
/// case); empty if it is not a SCRAM mechanism we implement.
std::optional<mechanism> parse_mechanism(std::string_view name);

/// The stored credentials (RFC 5802 §3) of `password`:
///   SaltedPassword = Hi(Normalize(password), salt, iterations)
///   StoredKey      = H(HMAC(SaltedPassword, "Client Key"))
///   ServerKey      = HMAC(SaltedPassword, "Server Key")
/// Normalize() should be SASLprep (RFC 4013) as a "stored string"; we use
/// the password bytes as they are. That is the same for every ASCII
/// password without control characters; a client that SASLpreps a
/// non-ASCII password into a different form will not match.
/// `iterations` must be >= 1. found = true.
credentials derive(hash_fn h, std::string_view password,
                                std::string salt, uint32_t iterations);

class server_exchange {
public:
  /// `mech`: hash; `plus`: the client chose the -PLUS mechanism;
  /// `cb_type`/`cb_data`: the channel binding the server can verify on
  /// this connection ("tls-exporter", "tls-unique" or
  /// "tls-server-end-point" and its raw data; empty when not on TLS or
  /// when the type the client names is not available here);
  /// `plus_offered`: the server advertised
  /// -PLUS variants (for the 'y' downgrade check of RFC 5802 §6).
  server_exchange(hash_fn mech, bool plus, std::string cb_type,
                  std::string cb_data, bool plus_offered);

  struct step {
    enum kind_t { need_credentials, challenge, success, failure } kind;
    /// challenge: the server-first-message; success: the server-final-
    /// message ("v=..."), the additional data of <success/>; both raw, NOT
    /// base64. failure: the RFC 6120 condition name ("not-authorized").
    std::string data;
    /// failure only: why, for the log (never the user's existence): an
    /// RFC 5802 server-error-value where one fits ("invalid-proof",
    /// "channel-bindings-dont-match", "extensions-not-supported", ...),
    /// else a short phrase. Do not send it to the client for
    /// not-authorized; the condition says enough.
    std::string reason;
  };

  /// The client-first-message (raw bytes, already base64-decoded).
  /// need_credentials: username() and authzid() are set; ask
  /// `auth.get_scram` for username() (after preparing it) and name(hash()).
  step client_first(std::string_view msg);

  /// The answer of `auth.get_scram`. Pass a default credentials{}
  /// (found = false) when the user name does not prep or the hook says no
  /// such user: the exchange goes on with fake credentials (a salt stable
  /// per user name, 4096 iterations) and fails at the proof, so the client
  /// cannot tell that the user does not exist. On a hook error answer
  /// <temporary-auth-failure/> instead and drop the exchange.
  /// challenge: the server-first-message.
  step credentials(const scram::credentials& creds);

  /// The client-final-message (raw bytes, already base64-decoded).
  /// success: data is the server-final-message "v=base64(ServerSignature)".
  step client_final(std::string_view msg);

  /// The user name as sent (=2C and =3D decoded, not prepared: the caller
  /// nodepreps it). Set after a need_credentials step.
  const std::string& username() const { return username_; }
  /// The authorization identity from the gs2 header (a=, decoded); empty
  /// when absent. The caller checks it (e.g. <invalid-authzid/> unless it
  /// names the authenticated user).
  const std::string& authzid() const { return authzid_; }

  hash_fn hash() const { return hash_; }
  bool plus() const { return plus_; }
  /// The client used channel binding (gs2 flag 'p').
  bool channel_bound() const { return cb_flag_ == 'p'; }
  /// The channel-binding type the exchange verifies ("" without TLS).
  const std::string& cb_type() const { return cb_type_; }

  /// For tests only: use `nonce` as the server's part of the nonce instead
  /// of 24 random bytes in base64 (printable ASCII without ','). Call
  /// before credentials().
  void set_server_nonce(std::string nonce) { server_nonce_ = std::move(nonce); }

private:
  enum class state { start, await_credentials, await_final, done };

  step fail(std::string condition, std::string reason);

  hash_fn hash_;
  bool plus_;
  std::string cb_type_;
  std::string cb_data_;
  bool plus_offered_;

  state state_ = state::start;
  char cb_flag_ = 0; ///< 'n', 'y' or 'p'
  std::string gs2_header_;        ///< "n,," / "p=tls-exporter,a=x,"
  std::string client_first_bare_; ///< for the AuthMessage
  std::string username_;
  std::string authzid_;
  std::string nonce_;        ///< client nonce, then client + server nonce
  std::string server_nonce_; ///< empty: random
  std::string server_first_;
  std::string stored_key_;
  std::string server_key_;
  bool fake_ = false; ///< unknown user: never succeed
};

} // namespace dja::scram
