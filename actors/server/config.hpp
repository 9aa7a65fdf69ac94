#pragma once

// The server configuration (TOML), validated up front. Every mistake is
// reported with file, line, key and what was expected, and stops the start.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "cluster/settings.hpp"
#include "common/limits.hpp"
#include "hooks/hook.hpp"

namespace dja::config {

/// A `[[listen]]` block.
struct listen_cfg {
  std::string kind;    ///< "c2s", "c2s_tls", "s2s", "component", "http"
  std::string address; ///< IP address to bind
  uint16_t port = 0;   ///< 0 = an ephemeral port (tests)
  /// c2s: "required" (nothing but STARTTLS before TLS), "optional", "off".
  std::string starttls = "optional";
  /// Offer SASL PLAIN on streams without TLS even when TLS is possible
  /// there. (Streams that cannot do TLS at all — no certificate for the
  /// vhost, or starttls = "off" — offer PLAIN; the server warns at start.)
  bool allow_plain_without_tls = false;
  /// XEP-0198 stream management offered on c2s streams.
  bool stream_management = true;
  /// Where SCRAM-*-PLUS is offered (channel binding tls-exporter,
  /// tls-unique, tls-server-end-point, whichever the connection has;
  /// stream/tls_channel_binding.cpp): "tls1.2" (the default) over TLS 1.2,
  /// "always" (or true) over every TLS version, "off" (or false) never.
  /// Why not "always" by default: Debian's Python clients (slixmpp 1.8,
  /// nbxmpp's tls-unique, aiosasl) know only tls-unique and ask for it on
  /// TLS 1.3 too, where it is undefined (RFC 9266 §1); the refusal reaches
  /// applications as a failed authentication before the client falls
  /// back. Prosody 0.12 offers -PLUS on the same terms.
  std::string sasl_channel_binding = "tls1.2";
  // --- kind = "http" (docs/web.md) ---
  bool tls = true; ///< https/wss from the first byte; false behind a proxy
  std::string websocket_path = "/xmpp-websocket";
  /// Browser origins allowed to open WebSockets ("*": any; empty: any).
  std::vector<std::string> allowed_origins;
  /// What XEP-0156 host-meta advertises ("": from the request's Host).
  std::string websocket_url;
  int64_t max_request_body = 1024 * 1024;
  std::string where;   ///< "file:line" of the block, for later errors
  int64_t line = 0;    ///< ... its line
};

/// A `[[vhost.plugin]]` block: its type and its own options (checked
/// against the plugin type's option schema).
struct plugin_cfg {
  std::string type;
  /// `library = "x.so"`: the plugin library that declares `type`, as
  /// found (server/plugin_loader.hpp); "" for a built-in type.
  std::string library;
  toml::table options; ///< every key but type, library, timeout_ms, hooks
  std::chrono::milliseconds timeout{5000}; ///< `timeout_ms`, any plugin
  /// `hooks = ["auth.check_password"]`, any plugin: serve only these of
  /// the hooks its type serves (empty: all of them).
  std::vector<hooks::hook_id> only_hooks;
  std::string where;
};

/// A `[[vhost]]` block.
struct vhost_cfg {
  std::string domain; ///< already prepared (lower case)
  std::string tls_cert; ///< PEM certificate (chain) file, "" = no TLS
  std::string tls_key;  ///< PEM private key file
  std::vector<plugin_cfg> plugins; ///< in config order = chain order
  /// Add roster.memory, disco, ping and version when the vhost does not
  /// list them (or another roster.* store): what every client expects of
  /// a server; `default_plugins = false` to not.
  bool default_plugins = true;
  /// COMPAT(libpurple): correct a client's forged `from` (RFC 6120
  /// §8.1.2.1 allows either) instead of closing with <invalid-from/>.
  bool correct_forged_from = false;
  std::string where;
};

/// A `[[s2s_route]]` block: a remote domain's server without DNS.
struct s2s_route_cfg {
  std::string domain; ///< prepared
  std::string host;   ///< address or host name
  uint16_t port = 5269;
  std::string where;
};

/// The `[cluster]` table (actors/cluster/settings.hpp).
using cluster_cfg = cluster::settings;

struct server_cfg {
  std::string file;
  std::string log_level = "info"; ///< trace | debug | info | warn | error
  std::string log_file; ///< empty: standard error
  std::string data_dir = "data";
  /// Where plugin libraries are looked for: a relative `library = ...`,
  /// and `TYPE.so` for a `type` that is not built in (docs/plugins.md).
  std::vector<std::string> plugin_dirs;
  /// bytes; policy-violation. The older name of limits.c2s_stanza_size:
  /// when [limits] does not set that, this applies to c2s streams.
  std::size_t max_stanza_size = 256 * 1024;
  std::chrono::seconds negotiation_timeout{30}; ///< unauthenticated idle
  /// How long a graceful stop waits for accepted stanzas to be stored,
  /// delivered or bounced before the plugins stop.
  std::chrono::seconds shutdown_timeout{10};
  std::string tls_ciphers;      ///< TLS 1.2 cipher list ("" = OpenSSL's)
  std::string tls_ciphersuites; ///< TLS 1.3 suites ("" = OpenSSL's)
  /// Brute-force defence (common/login_throttle.hpp): failed
  /// authentications per remote address, and per account, that cost
  /// nothing; beyond them answers are spaced by a doubling delay (up to
  /// auth_delay_max). The count is forgotten `auth_fail_window`
  /// after the last failure. ejabberd's mod_fail2ban allows 20 per hour,
  /// Prosody's mod_limit_auth 5 per 30 s.
  int auth_fail_limit = 10;
  std::chrono::seconds auth_fail_window{600};
  /// The longest delay before an answer to a throttled login.
  std::chrono::seconds auth_delay_max{60};
  /// `control_socket`: the Unix socket of `djabberd-actors ctl`
  /// (actors/control); unset: DATA_DIR/control.sock (control_socket_path);
  /// "": none.
  std::optional<std::string> control_socket;
  int64_t control_socket_line = 0; ///< its line; 0: the default
  /// `metrics`: the counters of /metrics (docs/metrics.md); false stops
  /// counting (the probes and process metrics still answer).
  bool metrics = true;
  std::vector<listen_cfg> listeners;
  std::vector<vhost_cfg> vhosts;
  // --- federation (actors/s2s, docs/s2s.md); on with an s2s listener ---
  /// STARTTLS on s2s streams: "required" (default) or "optional".
  std::string s2s_tls = "required";
  std::string s2s_ca_file; ///< PEM CA(s) trusted besides the system's
  /// Dialback key secret; "" = generated once into data_dir.
  std::string s2s_dialback_secret;
  /// Remote domains that must authenticate by certificate (no dialback).
  std::vector<std::string> s2s_require_certificate;
  std::chrono::seconds s2s_idle_timeout{300};
  std::chrono::seconds s2s_connect_timeout{10};
  std::chrono::seconds s2s_handshake_timeout{30};
  std::vector<s2s_route_cfg> s2s_routes;
  cluster_cfg cluster;
  /// `[limits]`: what one connection, account or address may cost.
  dja::limits limits;
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

/// The control socket of `cfg`: `control_socket`, else
/// DATA_DIR/control.sock; "" when off.
std::string control_socket_path(const server_cfg& cfg);

/// Reads and validates a configuration file.
load_result load_file(const std::string& path);

namespace detail {

/// Checks a `[cluster]` table (server/config_cluster.cpp).
void check_cluster(const toml::node& n, const std::string& file,
                   cluster_cfg& out, std::vector<config_error>& errors);

/// Checks a `[limits]` table (server/config_limits.cpp).
void check_limits(const toml::node& n, const std::string& file, limits& out,
                  std::vector<config_error>& errors);

} // namespace detail

/// Validates configuration text; `path` is only used in messages.
load_result load_text(std::string_view text, const std::string& path);

} // namespace dja::config
