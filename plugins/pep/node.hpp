#pragma once

// One PEP node (XEP-0163 over the XEP-0060 subset of plugins/pep/): its
// configuration (XEP-0060 §16.4.3 pubsub#node_config, the fields PEP
// clients use), its items (oldest first), explicit subscribers and
// members, and how it is stored: one document per node in the
// plugins/common/docs store (key = node name), so that the memory,
// SQLite and PostgreSQL backends are those of vcard.* and private.*.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/xml.hpp"

namespace dja::plugins::pep {

constexpr const char* ns_pubsub = "http://jabber.org/protocol/pubsub";
constexpr const char* ns_owner = "http://jabber.org/protocol/pubsub#owner";
constexpr const char* ns_event = "http://jabber.org/protocol/pubsub#event";
constexpr const char* ns_errors = "http://jabber.org/protocol/pubsub#errors";
constexpr const char* ns_data = "jabber:x:data";
constexpr const char* form_node_config
  = "http://jabber.org/protocol/pubsub#node_config";
constexpr const char* form_publish_options
  = "http://jabber.org/protocol/pubsub#publish-options";

/// XEP-0060 §4.5 access models served here (`roster` is not).
enum class access { presence, open, whitelist };

/// The configuration of a node (XEP-0060 §16.4.3).
struct node_config {
  access model = access::presence; ///< XEP-0163 §4.2: the PEP default
  int64_t max_items = 1;
  bool persist_items = true;
  /// never | on_sub | on_sub_and_presence (XEP-0163 §4.3.1 default)
  std::string send_last = "on_sub_and_presence";
};

struct node_item {
  std::string id;
  std::string publisher; ///< bare JID
  xml::element payload;
};

struct node {
  std::string name;
  node_config config;
  std::vector<node_item> items; ///< oldest first
  std::set<std::string> subscribers; ///< explicit subscriptions (JIDs)
  std::set<std::string> members; ///< affiliation member (whitelist)
};

/// Field values of a submitted data form (XEP-0004), by var.
using form_values = std::map<std::string, std::vector<std::string>>;

/// The fields of `x` (a jabber:x:data element); FORM_TYPE included.
form_values read_form(const xml::element& x);

/// Applies the fields of `form` to `cfg`; `max_items_limit` stands for
/// "max". An error text when a value is not acceptable (unknown fields
/// are ignored, XEP-0060 §8.2.5 allows it).
std::optional<std::string> apply(node_config& cfg, const form_values& form,
                                 int64_t max_items_limit);

/// XEP-0060 §7.1.5: does `cfg` meet every precondition of `form`?
bool meets(const node_config& cfg, const form_values& form,
           int64_t max_items_limit);

/// The node_config form of `cfg` (XEP-0060 §8.2.1), type form.
xml::element config_form(const node_config& cfg);

const char* name_of(access a);

/// The stored document of `n` and back (nullopt: not a node document).
std::string serialize(const node& n);
std::optional<node> deserialize(const std::string& name,
                                const xml::element& doc);

/// Adds or replaces (same id) `it`, then drops the oldest beyond
/// max_items (just the newest one when items are not persisted).
void add_item(node& n, node_item it);

} // namespace dja::plugins::pep
