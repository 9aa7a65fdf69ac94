#include "plugins/offline/common/policy.hpp"

#include <ctime>

#include "common/stream_parser.hpp"

namespace dja::plugins::offline {

namespace {

constexpr const char* ns_hints = "urn:xmpp:hints";
constexpr const char* ns_chatstates = "http://jabber.org/protocol/chatstates";
constexpr const char* ns_delay = "urn:xmpp:delay";
/// The largest stored stanza we parse back.
constexpr size_t max_stored_stanza = 16 * 1024 * 1024;

/// Parses one stored stanza back (nullptr if it does not parse).
xml::element_ptr parse_one(const std::string& text) {
  static const std::string open =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";
  xml::stream_parser p{max_stored_stanza};
  std::vector<xml::stream_event> evs;
  auto in = open + text;
  if (p.feed(in.data(), in.size(), evs) != xml::parse_error::none
      || evs.size() != 2 || evs[1].kind != xml::stream_event::stanza)
    return nullptr;
  return evs[1].elem;
}

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
  auto t = std::chrono::system_clock::to_time_t(
    std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

xml::element stamped(const xml::element& s, const std::string& domain) {
  xml::element copy = s;
  xml::element delay{"delay", ns_delay};
  delay.set_attr("from", domain);
  delay.set_attr("stamp", utc_stamp());
  copy.add_child(std::move(delay));
  return copy;
}

std::vector<hooks::offline_message>
parse_stored(const std::vector<std::pair<int64_t, std::string>>& rows,
             const char* plugin, const std::string& domain,
             const std::string& user, std::vector<int64_t>& broken) {
  std::vector<hooks::offline_message> out;
  out.reserve(rows.size());
  for (auto& [id, text] : rows) {
    if (auto e = parse_one(text)) {
      out.push_back({id, std::move(e)});
    } else {
      spdlog::error("{}: vhost {}: dropping a stored stanza for {} that "
                    "does not parse", plugin, domain, user);
      broken.push_back(id);
    }
  }
  return out;
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
