#pragma once

// What the vCard stores (vcard.sqlite, vcard.pgsql) share beyond the
// storage: their manifest and options, and XEP-0153 avatar hashes in
// available presence (presence.alter_available), cached per user. Each
// store only says how to load a user's stored vCard.

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::vcard {

constexpr const char* ns_vcard = "vcard-temp";
constexpr const char* ns_update = "vcard-temp:x:update"; // XEP-0153

/// The option schema entry of `avatar_hash` (boolean, default true).
option_spec avatar_hash_option();

/// The manifest of a vCard store: iq get/set vcard-temp, the disco
/// feature, and presence.alter_available unless `avatar_hash = false`.
manifest vcard_manifest(const toml::table& opts);

/// Loads the stored vCard of a local part: nullptr when none is stored;
/// an error (logged by the loader) when the store fails or the stored
/// vCard does not parse.
using vcard_loader =
  std::function<caf::expected<xml::element_ptr>(const std::string& local)>;

/// XEP-0153 photo hashes per local part of one vhost, filled at a user's
/// available presence, dropped when she sets her vCard.
class avatar_cache {
public:
  /// presence.alter_available (XEP-0153 §3.2): the user's available
  /// presence gets <x xmlns='vcard-temp:x:update'><photo>HASH</photo></x>
  /// (an empty <photo/> when she has no photo). Declined (the presence
  /// goes out as is) for other domains, when her client put an x:update
  /// element there itself, when the BINVAL is not base64 and when `load`
  /// fails.
  hooks::answer<hooks::filter_verdict>
  alter(const hooks::presence_alter_available& r, const std::string& domain,
        const vcard_loader& load);

  /// She set her vCard: her next presence announces the new hash.
  void forget(const std::string& local) {
    hashes_.erase(local);
  }

  /// Every hash may be stale (`cache.invalidate` of a whole vhost).
  void forget_all() {
    hashes_.clear();
  }

private:
  /// "" = no photo; nullopt = a BINVAL that is not base64 (nothing
  /// announced).
  std::unordered_map<std::string, std::optional<std::string>> hashes_;
};

} // namespace dja::plugins::vcard
