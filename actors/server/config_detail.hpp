#pragma once

// What the parts of the configuration check share (config.cpp,
// config_plugins.cpp, config_cluster.cpp, config_limits.cpp): the
// message helpers for "FILE:LINE: KEY: what was expected" errors, defined
// in config_plugins.cpp.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "server/config.hpp"

namespace dja::config::detail {

/// "FILE:LINE".
std::string where(const std::string& file, int64_t line);

/// `prefix.key`, with the key quoted when it is not a bare TOML key.
std::string join_key(const std::string& prefix, std::string_view key);

/// " (got ...)": what a wrong value was, for the end of a message.
std::string got(const toml::node& v);

/// "" when `v` is an integer in lo..hi, else what was expected.
std::string int_error(const toml::node& v, int64_t lo, int64_t hi,
                      std::string_view unit);

/// Checks one [[vhost.plugin]] block against its type's option schema,
/// loading the plugin library it names (`library`, or TYPE.so in
/// `plugin_dirs` for a type that is not built in) first.
void check_plugin(const toml::table& t, const std::string& file,
                  const std::string& key, plugin_cfg& out,
                  std::vector<config_error>& errors,
                  const std::vector<std::string>& plugin_dirs);

/// What is wrong with a certificate/key pair (unreadable, not PEM, or the
/// key does not match the certificate), "" when nothing is; `key_at_fault`
/// tells which file the message is about (config_files.cpp).
std::string pem_pair_error(const std::string& cert, const std::string& key,
                           bool& key_at_fault);

/// What is wrong with a data directory that must exist or be creatable,
/// "" when nothing is (config_files.cpp).
std::string dir_error(const std::string& dir);

/// The line of a TOML node or key.
template <class T>
int64_t line_of(const T& x) {
  return static_cast<int64_t>(x.source().begin.line);
}

} // namespace dja::config::detail
