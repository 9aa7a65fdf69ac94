#pragma once

// Server Dialback keys (XEP-0220 §2.4) and the secret they come from.

#include <string>
#include <string_view>

namespace dja::s2s {

/// XEP-0220 §2.4's recommended key: hex(HMAC-SHA256(hex(SHA256(secret)),
/// receiving + ' ' + originating + ' ' + stream_id)), where stream_id is
/// the id the receiving server gave the originating server's stream.
std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating,
                         std::string_view stream_id);

/// The secret in `data_dir`/s2s_dialback_secret; made (32 random bytes,
/// hex, mode 0600) when the file does not exist, so that keys stay valid
/// across restarts. Empty with `error` set when neither works.
std::string load_or_make_secret(const std::string& data_dir,
                                std::string& error);

} // namespace dja::s2s
