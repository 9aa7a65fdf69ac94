#pragma once
// The SASL PLAIN message (RFC 4616 §2) of an <auth/> or <response/>
// payload, decoded apart from the connection so that it can be tested and
// fuzzed alone.
#include <optional>
#include <string>

namespace dja::sasl_plain {

/// `[authzid] NUL authcid NUL passwd`.
struct message {
  std::string authzid;
  std::string authcid;
  std::string password;
};

struct result {
  std::optional<message> msg;
  /// Without `msg`: the RFC 6120 §6.5 condition to answer.
  const char* condition = nullptr;
};

/// Decodes the base64 payload ("=" is the empty response, RFC 6120
/// §6.4.2). Failures: incorrect-encoding (bad base64), malformed-request
/// (not exactly two NULs, empty authcid), not-authorized (empty password).
result decode(const std::string& b64);

} // namespace dja::sasl_plain
