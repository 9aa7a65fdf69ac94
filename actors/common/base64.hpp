#pragma once

// Strict base64 (RFC 4648 §4) for SASL (RFC 6120 §6.4.2: padding required,
// no whitespace, anything else is <incorrect-encoding/>).

#include <optional>
#include <string>
#include <string_view>

namespace dja::base64 {

std::string encode(std::string_view in);

/// Empty optional on any encoding error.
std::optional<std::string> decode(std::string_view in);

} // namespace dja::base64
