#pragma once

// One XEP-0357 registration: an app server JID and node that a device
// (the resource that sent <enable/>) gave the account (§5), with its
// publish-options form (e.g. the app server's secret), as it is read
// from an <enable/> and stored (one document per jid+node).

#include <optional>
#include <string>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace dja::plugins::push {

constexpr const char* ns_push = "urn:xmpp:push:0";
constexpr const char* ns_data = "jabber:x:data";
constexpr const char* ns_pubsub = "http://jabber.org/protocol/pubsub";
constexpr const char* publish_options_type =
  "http://jabber.org/protocol/pubsub#publish-options";

struct registration {
  jid app;              ///< the app server (XEP-0357 §5 `jid`)
  std::string node;     ///< its node for this device ("" allowed)
  std::string resource; ///< the device's resource when it enabled
  /// The publish-options form of the <enable/>, or null.
  xml::element_ptr options;

  /// The storage key: one registration per jid+node (§5).
  std::string key() const;
  xml::element to_xml() const;
};

/// The storage key of `app` + `node`. A JID cannot contain a newline
/// (RFC 7622 forbids control characters), so the key is unambiguous.
std::string key_of(const jid& app, const std::string& node);

/// The app server JID part of a storage key.
std::string app_of_key(const std::string& key);

/// The FORM_TYPE of the data form `x` ("" when it has none).
std::string form_type(const xml::element& x);

/// The registration an <enable/> of `resource` asks for, or the stanza
/// error condition refusing it (XEP-0357 §5: a `jid` is required; a
/// form other than publish-options is not understood).
struct enable_result {
  std::optional<registration> reg;
  const char* error = nullptr;
  std::string text;
};
enable_result parse_enable(const xml::element& enable,
                           const std::string& resource);

/// A stored registration, or nullopt when it does not read as one.
std::optional<registration> parse_stored(const xml::element& e);

} // namespace dja::plugins::push
