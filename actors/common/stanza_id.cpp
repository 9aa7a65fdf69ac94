// XEP-0359 stanza ids and the XEP-0313 §5.1 archiving rule
// (stanza_id.hpp).

#include "common/stanza_id.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "common/crypto.hpp"

namespace dja::stanza_id {

namespace {

constexpr const char* ns_sid = "urn:xmpp:sid:0";     // XEP-0359
constexpr const char* ns_hints = "urn:xmpp:hints";   // XEP-0334

/// Hex digits of the tag (32 bits of HMAC-SHA-256).
constexpr size_t tag_size = 8;

const std::string& key() {
  static const std::string k = crypto::random_bytes(32);
  return k;
}

uint32_t process_part() {
  static const uint32_t p = [] {
    auto b = crypto::random_bytes(2);
    return (static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 8)
           | static_cast<uint8_t>(b[1]);
  }();
  return p;
}

std::string tag(std::string_view base, std::string_view by,
                std::string_view from) {
  std::string data;
  data.reserve(base.size() + by.size() + from.size() + 2);
  data.append(base).append(1, '\n').append(by).append(1, '\n').append(from);
  auto mac = crypto::hmac(crypto::hash_fn::sha256, key(), data);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < tag_size / 2; ++i) {
    auto c = static_cast<uint8_t>(mac[i]);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool is_sid(const xml::element& c, std::string_view by) {
  return c.name == "stanza-id" && c.ns == ns_sid
         && c.attr_or("by") == by;
}

} // namespace

bool archivable(const xml::element& s) {
  if (s.name != "message")
    return false;
  auto type = s.attr_or("type", "normal");
  if (type != "chat" && type != "normal")
    return false;
  if (s.child("no-store", ns_hints) || s.child("no-permanent-store", ns_hints))
    return false;
  return s.child("body", s.ns) != nullptr
         || s.child("store", ns_hints) != nullptr;
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string make(std::string_view by, std::string_view from,
                 int64_t stamp_us) {
  static std::atomic<uint32_t> counter{0};
  char base[40];
  std::snprintf(base, sizeof(base), "%013llx%04x%06x",
                static_cast<unsigned long long>(stamp_us), process_part(),
                counter.fetch_add(1, std::memory_order_relaxed) & 0xffffff);
  std::string id = base;
  return id + tag(id, by, from);
}

bool issued(const xml::element& s, std::string_view by) {
  auto from = s.attr_or("from");
  for (auto c : s.elements()) {
    if (!is_sid(*c, by))
      continue;
    auto id = c->attr_or("id");
    if (id.size() <= tag_size)
      continue;
    auto base = std::string_view{id}.substr(0, id.size() - tag_size);
    auto t = std::string_view{id}.substr(id.size() - tag_size);
    if (crypto::equal(t, tag(base, by, from)))
      return true;
  }
  return false;
}

bool has(const xml::element& s, std::string_view by) {
  auto es = s.elements();
  return std::any_of(es.begin(), es.end(),
                     [&](const xml::element* c) { return is_sid(*c, by); });
}

void strip(xml::element& s, std::string_view by) {
  auto& cs = s.children;
  cs.erase(std::remove_if(cs.begin(), cs.end(),
                          [&](const xml::node& n) {
                            return n.elem && is_sid(*n.elem, by);
                          }),
           cs.end());
}

void add(xml::element& s, std::string_view by, std::string id) {
  xml::element sid{"stanza-id", ns_sid};
  sid.set_attr("by", std::string{by});
  sid.set_attr("id", std::move(id));
  s.add_child(std::move(sid));
}

} // namespace dja::stanza_id
