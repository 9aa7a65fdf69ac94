#pragma once

// Stored SCRAM credentials (RFC 5802 §3): what the `auth.get_scram` hook
// answers and what the SCRAM exchange (common/scram.hpp) needs instead of
// a password.

#include <cstdint>
#include <string>

namespace dja::scram {

/// Stored SCRAM credentials (RFC 5802 §3) for one hash function.
struct credentials {
  bool found = false;      ///< false: no such user
  std::string salt;        ///< raw bytes
  uint32_t iterations = 0; ///< PBKDF2 iteration count
  std::string stored_key;  ///< raw bytes: H(ClientKey)
  std::string server_key;  ///< raw bytes: HMAC(SaltedPassword, "Server Key")
};

} // namespace dja::scram
