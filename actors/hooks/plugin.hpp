#pragma once

// The contract between the core and the plugins, beside the hook
// catalogue (so the core includes no file of plugins/): what a plugin
// type is: a name (= TOML `type` = folder = log tag), its option schema,
// what it declares (hooks served, IQ namespaces, disco features) and how
// to spawn it, and DJA_PLUGIN, the one way a plugin type makes itself
// known (built in, or a shared library: docs/plugins.md).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>
#include <toml++/toml.h>

#include "common/router_ref.hpp"
#include "hooks/hook.hpp"

namespace dja::plugins {

enum class option_type {
  string,
  integer,
  boolean,
  string_map,  ///< an inline table of strings, e.g. users = { a = "pw" }
  string_list, ///< an array of strings
};

/// One key a plugin accepts. Unknown keys are rejected by the config check.
struct option_spec {
  std::string key;
  option_type type;
  bool required = false;
  std::string doc;
  /// Optional check of a value of the right type: what was expected when
  /// it is not acceptable, "" when it is (e.g. a parseable libpq DSN).
  std::function<std::string(const toml::node&)> check = {};
};

/// One field of an XEP-0128 extended-information form on the server's
/// disco#info. The fields of one FORM_TYPE, from whichever plugins
/// declare them, make one form (XEP-0128 §2: one form per FORM_TYPE).
struct info_field {
  /// The form's FORM_TYPE, e.g. "http://jabber.org/network/serverinfo"
  /// (XEP-0157) or "urn:xmpp:http:upload:0" (XEP-0363).
  std::string form_type;
  std::string var;                 ///< e.g. "abuse-addresses"
  std::vector<std::string> values; ///< one <value/> each
  bool operator==(const info_field& o) const {
    return form_type == o.form_type && var == o.var && values == o.values;
  }
};

/// What a plugin instance declares when its vhost builds the chains; the
/// vhost answers disco and stream features from this without a hook call.
struct manifest {
  /// The hooks it serves, by type: `hooks::id<hooks::roster_get>`
  /// (actors/hooks/catalogue.hpp), so a misspelled hook does not compile.
  std::vector<hooks::hook_id> hooks;
  /// IQ payload namespaces it serves, as "get NS" / "set NS".
  std::vector<std::string> iqs;
  /// disco#info features it adds to the server domain.
  std::vector<std::string> features;
  /// disco#info identities "category/type/name".
  std::vector<std::string> identities;
  /// Stream features, by namespace: offered before authentication (e.g.
  /// "http://jabber.org/features/iq-register" for XEP-0077), or after it
  /// ("urn:xmpp:csi:0" for XEP-0352).
  std::vector<std::string> stream_features;
  /// Not empty: the instance cannot be started, and why, as "what was
  /// expected" (e.g. an external program that fails its handshake); the
  /// config check reports it at the block and nothing starts. As
  /// "OPTION: expected" (OPTION one of the type's keys, e.g. a secret
  /// another option requires), it is reported at that option.
  std::string error;
  /// XEP-0128 extended-information fields it adds to the server's
  /// disco#info (XEP-0157 contact addresses, upload limits ...).
  std::vector<info_field> info_fields;
  /// JIDs the server domain's disco#items lists (XEP-0030 §4.1): the
  /// services this plugin runs under a domain of their own (a MUC
  /// service, a component).
  std::vector<std::string> items;
  /// disco#info features it adds to the accounts' bare JIDs (XEP-0030
  /// §3.1: e.g. urn:xmpp:mam:2, XEP-0313 §7; the PEP features), answered
  /// by whichever plugin answers the account's disco (disco or pep.*).
  std::vector<std::string> account_features;
};

/// What spawn() gets.
struct spawn_context {
  caf::actor_system& sys;
  std::string domain;
  std::string data_dir;
  const toml::table& options; ///< validated against the schema
  /// Everything the plugins of this vhost declared together (the disco
  /// plugin answers from it).
  const manifest& vhost;
  /// The vhost actor: a plugin may send it hook requests of its own
  /// (e.g. XEP-0077 asks `auth.set_password`).
  caf::actor vhost_actor;
  /// Where the plugin sends stanzas of its own to be routed like any
  /// other (`msg::route` to `router->shard_for(to)`): a service domain's
  /// replies (`domain.stanza`), notifications to remote JIDs. Its shards
  /// are filled in once the router runs, before the listeners open (so
  /// before any stanza reaches a plugin); null in unit tests and
  /// `user` subcommands.
  std::shared_ptr<const router_ref> router = nullptr;
};

struct plugin_type {
  std::string name;    ///< "auth.static"
  std::string summary; ///< one line, for --help and docs
  std::vector<option_spec> options;
  std::function<manifest(const toml::table& options)> describe;
  std::function<caf::actor(const spawn_context&)> spawn;
};

} // namespace dja::plugins

/// Declares a plugin type: `DJA_PLUGIN(auth_static) { return {...}; }`
/// defines the function that returns it, `auth_static_type()`.
///
/// Built in: the id is the folder below plugins/ with '/' as '_'
/// (plugins/auth/static: the TOML type "auth.static"), the line is inside
/// namespace dja::plugins, and the build generates the list of built-in
/// types from these lines (cmake/plugin_registry.cmake): a new built-in
/// plugin is one folder and no edit elsewhere.
///
/// In a shared library (djabberd_actors_add_plugin defines
/// DJA_PLUGIN_LIBRARY), the same line also defines the library's entry
/// point with its build identity (actors/hooks/entry.hpp); one
/// DJA_PLUGIN per library, in any namespace.
#ifdef DJA_PLUGIN_LIBRARY
#  include "hooks/entry.hpp"
#  define DJA_PLUGIN(id)                                                       \
    ::dja::plugins::plugin_type id##_type();                                   \
    DJA_PLUGIN_ENTRY(id)                                                       \
    ::dja::plugins::plugin_type id##_type()
#else
#  define DJA_PLUGIN(id) ::dja::plugins::plugin_type id##_type()
#endif
