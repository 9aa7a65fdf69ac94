#pragma once

// Parts of the running server's shared state that belong beside
// server_context (common/server_context.hpp) but are kept in a side
// table keyed by the context, so that adding them did not change a header
// that every file includes: the connection counts (actors/listener), the
// login throttle (connection/sasl.cpp) and per-vhost COMPAT settings
// (actors/session). server.cpp fills it in before the listeners open;
// to be folded into server_context when that header next changes.

#include <memory>
#include <string>
#include <unordered_set>

namespace dja {

struct server_context;
class connection_limits;
class login_throttle;

struct context_extras {
  /// Open connections per address and in total (actors/listener).
  std::shared_ptr<connection_limits> conn_limits;
  /// Failed logins per address and per account (common/login_throttle).
  std::shared_ptr<login_throttle> throttle;
  /// COMPAT(libpurple): vhosts whose clients' forged `from` is corrected
  /// instead of ending the stream with <invalid-from/>.
  std::unordered_set<std::string> correct_forged_from;
};

/// The extras of `ctx`; an empty set when none were installed (tests).
std::shared_ptr<const context_extras> extras_of(const server_context& ctx);

/// Installs the extras of `ctx` (before any actor asks for them).
void install_extras(const server_context& ctx,
                    std::shared_ptr<const context_extras> extras);

/// Forgets them (the server context goes away).
void remove_extras(const server_context& ctx);

} // namespace dja
