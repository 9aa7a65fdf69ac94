#include "plugins/offline/common/policy.hpp"

#include "common/delay.hpp"

namespace dja::plugins::offline {

namespace {

constexpr const char* ns_hints = "urn:xmpp:hints";
constexpr const char* ns_chatstates = "http://jabber.org/protocol/chatstates";

} // namespace

bool storable(const xml::element& s) {
  if (s.name != "message")
    return false;
  auto type = s.attr_or("type", "normal");
  if (type == "error" || type == "groupchat" || type == "headline")
    return false;
  if (s.child("no-store", ns_hints) != nullptr) // XEP-0334 §4.1
    return false;
  if (s.child("store", ns_hints) != nullptr) // XEP-0334 §4.4
    return true;
  for (auto c : s.elements()) {
    if (c->ns == ns_chatstates || c->ns == ns_hints)
      continue;
    if (c->name == "thread" && c->ns == s.ns)
      continue;
    return true; // <body/>, <subject/> or any payload
  }
  return false;
}

std::string utc_stamp() {
  return delay::utc_stamp();
}

xml::element stamped(const xml::element& s, const std::string& domain) {
  return delay::stamped(s, domain);
}

hooks::answer<hooks::delivery_verdict>
queue_full(const char* plugin, const std::string& domain,
           const std::string& user, int64_t max) {
  spdlog::info("{}: vhost {}: the store of {} is full ({} messages); "
               "bouncing",
               plugin, domain, user, max);
  return hooks::answer<hooks::delivery_verdict>::handled(
    {false, "service-unavailable"});
}

int64_t max_messages(const spawn_context& ctx, const char* plugin) {
  auto max = ctx.options["max_messages"].value_or(default_max_messages);
  if (max < 0) {
    spdlog::warn("{}: vhost {}: max_messages = {} is negative; using {}",
                 plugin, ctx.domain, max, default_max_messages);
    max = default_max_messages;
  }
  return max;
}

option_spec max_messages_option() {
  return {"max_messages", option_type::integer, false,
          "stanzas kept per user; more are bounced with "
          "<service-unavailable/> (default 100, 0 = no limit)"};
}

manifest offline_manifest() {
  return manifest{{hooks::id<hooks::deliver>, hooks::id<hooks::offline_fetch>,
                   hooks::id<hooks::offline_remove>},
                  {},
                  {"msgoffline"}, // XEP-0160 §4
                  {},
                  {}};
}

} // namespace dja::plugins::offline
