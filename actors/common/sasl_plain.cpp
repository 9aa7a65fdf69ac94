// SASL PLAIN message decoding (RFC 4616 §2, RFC 6120 §6.4.2).
#include "common/sasl_plain.hpp"

#include "common/base64.hpp"

namespace dja::sasl_plain {

result decode(const std::string& b64) {
  // "=" is an empty response (RFC 6120 §6.4.2).
  auto decoded = b64 == "=" ? std::optional<std::string>{std::string{}}
                            : base64::decode(b64);
  if (!decoded)
    return {std::nullopt, "incorrect-encoding"};
  // RFC 4616 §2: [authzid] NUL authcid NUL passwd
  auto& msg = *decoded;
  auto p1 = msg.find('\0');
  auto p2 = p1 == std::string::npos ? p1 : msg.find('\0', p1 + 1);
  if (p2 == std::string::npos || msg.find('\0', p2 + 1) != std::string::npos)
    return {std::nullopt, "malformed-request"};
  message m{msg.substr(0, p1), msg.substr(p1 + 1, p2 - p1 - 1),
            msg.substr(p2 + 1)};
  if (m.authcid.empty() || m.password.empty())
    return {std::nullopt,
            m.authcid.empty() ? "malformed-request" : "not-authorized"};
  return {std::move(m), nullptr};
}

} // namespace dja::sasl_plain
