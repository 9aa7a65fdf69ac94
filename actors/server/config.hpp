#pragma once

// The server configuration (TOML), validated up front. Every mistake is
// reported with file, line, key and what was expected, and stops the start.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace dja::config {

/// A `[[listen]]` block.
struct listen_cfg {
  std::string kind;    ///< "c2s" (later: "c2s_tls", "s2s")
  std::string address; ///< IP address to bind
  uint16_t port = 0;   ///< 0 = an ephemeral port (tests)
  std::string where;   ///< "file:line" of the block, for later errors
};

/// A `[[vhost.plugin]]` block: its type and its own options (checked
/// against the plugin type's option schema).
struct plugin_cfg {
  std::string type;
  toml::table options; ///< every key of the block except type / timeout_ms
  std::chrono::milliseconds timeout{5000}; ///< `timeout_ms`, any plugin
  std::string where;
};

/// A `[[vhost]]` block.
struct vhost_cfg {
  std::string domain; ///< already prepared (lower case)
  std::vector<plugin_cfg> plugins; ///< in config order = chain order
  std::string where;
};

struct server_cfg {
  std::string file;
  std::string log_level = "info"; ///< trace | debug | info | warn | error
  std::string log_file; ///< empty: standard error
  std::string data_dir = "data";
  std::size_t max_stanza_size = 256 * 1024; ///< bytes; policy-violation
  std::chrono::seconds negotiation_timeout{30}; ///< unauthenticated idle
  std::vector<listen_cfg> listeners;
  std::vector<vhost_cfg> vhosts;
};

/// One configuration mistake.
struct config_error {
  std::string file;
  int64_t line = 0; ///< 0 when unknown
  std::string key;  ///< dotted path, e.g. "vhost[0].plugin[1].users"
  std::string expected;
  /// "FILE:LINE: KEY: EXPECTED"
  std::string to_string() const;
};

struct load_result {
  server_cfg cfg;
  std::vector<config_error> errors;
  bool ok() const { return errors.empty(); }
};

/// Reads and validates a configuration file.
load_result load_file(const std::string& path);

/// Validates configuration text; `path` is only used in messages.
load_result load_text(std::string_view text, const std::string& path);

} // namespace dja::config
