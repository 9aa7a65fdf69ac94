// XEP-0359 stanza ids and the XEP-0313 §5.1 archiving rule
// (stanza_id.hpp).

#include "common/stanza_id.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/crypto.hpp"

namespace dja::stanza_id {

namespace {

constexpr const char* ns_sid = "urn:xmpp:sid:0";     // XEP-0359
constexpr const char* ns_hints = "urn:xmpp:hints";   // XEP-0334

/// Hex digits of the tag (the 64 bits of SipHash-2-4).
constexpr size_t tag_size = 16;

/// The per-process SipHash key: two 64-bit words.
const uint64_t* key() {
  static const auto k = [] {
    auto b = crypto::random_bytes(16);
    std::array<uint64_t, 2> w{};
    std::memcpy(w.data(), b.data(), 16);
    return w;
  }();
  return k.data();
}

uint32_t process_part() {
  static const uint32_t p = [] {
    auto b = crypto::random_bytes(2);
    return (static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 8)
           | static_cast<uint8_t>(b[1]);
  }();
  return p;
}

uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

void sip_round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13) ^ v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16) ^ v2;
  v0 += v3;
  v3 = rotl(v3, 21) ^ v0;
  v2 += v1;
  v1 = rotl(v1, 17) ^ v2;
  v2 = rotl(v2, 32);
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012) of `in` under `k`: a
/// keyed pseudo-random function, a MAC for short inputs at a small
/// fraction of an HMAC-SHA-256's cost (no provider lookup, no lock).
uint64_t siphash(const uint64_t* k, std::string_view in) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
  uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
  uint64_t v3 = 0x7465646279746573ULL ^ k[1];
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  auto word = [](const unsigned char* q, size_t len) {
    uint64_t m = 0;
    for (size_t i = 0; i < len; ++i)
      m |= static_cast<uint64_t>(q[i]) << (8 * i); // little-endian
    return m;
  };
  size_t full = n - n % 8;
  for (size_t i = 0; i < full; i += 8) {
    auto m = word(p + i, 8);
    v3 ^= m;
    sip_round(v0, v1, v2, v3);
    sip_round(v0, v1, v2, v3);
    v0 ^= m;
  }
  auto last = word(p + full, n % 8) | (static_cast<uint64_t>(n & 0xff) << 56);
  v3 ^= last;
  sip_round(v0, v1, v2, v3);
  sip_round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i)
    sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

/// XEP-0359 §6: the tag makes an id unforgeable by anyone without the
/// process's key; the router also tells its own ids from a client's
/// with it (XEP-0359 §3.3).
std::string tag(std::string_view base, std::string_view by,
                std::string_view from) {
  std::string data;
  data.reserve(base.size() + by.size() + from.size() + 2);
  data.append(base).append(1, '\n').append(by).append(1, '\n').append(from);
  auto mac = siphash(key(), data);
  static const char* digits = "0123456789abcdef";
  std::string out(tag_size, '0');
  for (size_t i = 0; i < tag_size; ++i)
    out[i] = digits[(mac >> (60 - 4 * i)) & 15];
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
