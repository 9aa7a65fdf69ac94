#pragma once

// XEP-0115 Entity Capabilities as PEP needs them (XEP-0163 §4.3.5:
// notifications go to the resources whose features include NODE+notify):
// the <c/> of a presence, the verification string of a disco#info result
// (§5.1) and its check (§5.4), and a bounded cache of verified feature
// sets by verification string (one disco#info query per unknown ver).

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "common/xml.hpp"

namespace dja::plugins::pep {

constexpr const char* ns_caps = "http://jabber.org/protocol/caps";

/// A presence's capabilities: <c node= ver= hash=/> (§4).
struct caps_ref {
  std::string node;
  std::string ver;
  std::string hash; ///< "" for the legacy format (no verification)
};

/// The disco#info features of a client.
using feature_set = std::shared_ptr<const std::set<std::string>>;

/// The <c/> of `presence`, if any.
std::optional<caps_ref> caps_of(const xml::element& presence);

/// §5.1: the verification string (S) of a disco#info <query/>.
std::string verification_string(const xml::element& query);

/// §5.4: the hash of S (only "sha-1" is checked here) equals `ver`.
bool verified(const caps_ref& c, const xml::element& query);

/// The features of a disco#info <query/>.
feature_set features_of(const xml::element& query);

/// Verified feature sets by ver, at most `capacity` (the oldest entry
/// goes first).
class caps_cache {
public:
  explicit caps_cache(size_t capacity) : capacity_(capacity) {}

  feature_set find(const std::string& ver) const {
    auto i = sets_.find(ver);
    return i == sets_.end() ? nullptr : i->second;
  }

  void put(const std::string& ver, feature_set f);

  size_t size() const {
    return sets_.size();
  }

private:
  size_t capacity_;
  std::unordered_map<std::string, feature_set> sets_;
  std::deque<std::string> order_;
};

} // namespace dja::plugins::pep
