#include "common/jid.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <tuple>
#include <utility>

#include <idn-free.h>
#include <idna.h>
#include <stringprep.h>

namespace dja {

namespace {

/// RFC 7622 §3.1: each part is at most 1023 bytes once prepared.
constexpr size_t max_part = 1023;

/// Input parts longer than this are refused before any preparation (the
/// preparation never shrinks legitimate input by that much).
constexpr size_t max_raw_part = 4 * max_part;

/// Strict UTF-8 check: no overlong forms, no surrogates, nothing above
/// U+10FFFF, no NUL (the C libraries below would stop there).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  auto n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0)
      return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
        || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

/// Owns a string allocated by libidn.
struct idn_str {
  char* ptr = nullptr;
  ~idn_str() {
    if (ptr != nullptr)
      idn_free(ptr);
  }
};

/// Runs a stringprep profile ("Nodeprep", "Resourceprep", "Nameprep").
/// Refuses invalid UTF-8, over-long input and results that are empty or
/// longer than max_part.
std::optional<std::string> prep(std::string_view in, const char* profile) {
  if (in.empty() || in.size() > max_raw_part || !valid_utf8(in))
    return std::nullopt;
  std::string tmp{in};
  idn_str out;
  auto flags = static_cast<Stringprep_profile_flags>(0);
  if (stringprep_profile(tmp.c_str(), &out.ptr, profile, flags)
      != STRINGPREP_OK)
    return std::nullopt;
  std::string res{out.ptr};
  if (res.empty() || res.size() > max_part)
    return std::nullopt;
  return res;
}

void ascii_lower(std::string& s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
}

/// Maps the other label separators of RFC 3490 §3.1 (U+3002, U+FF0E,
/// U+FF61) to '.'.
std::string map_dots(std::string_view in) {
  static constexpr std::string_view dots[] = {
    "\xE3\x80\x82", "\xEF\xBC\x8E", "\xEF\xBD\xA1"};
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    bool mapped = false;
    for (auto d : dots) {
      if (in.substr(i, d.size()) == d) {
        out += '.';
        i += d.size();
        mapped = true;
        break;
      }
    }
    if (!mapped)
      out += in[i++];
  }
  return out;
}

/// "[v6]" literal: normalized through inet_ntop.
std::optional<std::string> prep_ip6_literal(std::string_view d) {
  if (d.size() < 3 || d.back() != ']')
    return std::nullopt;
  std::string inner{d.substr(1, d.size() - 2)};
  in6_addr addr;
  if (inet_pton(AF_INET6, inner.c_str(), &addr) != 1)
    return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &addr, buf, sizeof(buf)) == nullptr)
    return std::nullopt;
  return "[" + std::string{buf} + "]";
}

/// Domain part: IP literal or a host name (IDN allowed), prepared with
/// nameprep and checked with the STD3 rules (letters, digits, hyphens,
/// labels of 1..63 octets in ACE form). A-labels are turned into U-labels
/// so that both spellings give the same JID.
std::optional<std::string> prep_domain(std::string_view raw) {
  if (raw.empty() || raw.size() > max_raw_part || !valid_utf8(raw))
    return std::nullopt;
  if (raw.front() == '[')
    return prep_ip6_literal(raw);
  auto d = map_dots(raw);
  if (!d.empty() && d.back() == '.')
    d.pop_back();
  auto prepared = prep(d, "Nameprep");
  if (!prepared)
    return std::nullopt;
  ascii_lower(*prepared);
  idn_str ace;
  auto flags = IDNA_USE_STD3_ASCII_RULES | IDNA_ALLOW_UNASSIGNED;
  if (idna_to_ascii_8z(prepared->c_str(), &ace.ptr, flags) != IDNA_SUCCESS)
    return std::nullopt;
  std::string_view labels{ace.ptr};
  bool has_ace = false;
  for (;;) {
    auto dot = labels.find('.');
    auto label = labels.substr(0, dot);
    if (label.empty() || label.size() > 63)
      return std::nullopt;
    if (label.size() >= 4 && label.substr(0, 4) == "xn--")
      has_ace = true;
    if (dot == std::string_view::npos)
      break;
    labels.remove_prefix(dot + 1);
  }
  if (!has_ace)
    return prepared;
  idn_str uni;
  if (idna_to_unicode_8z8z(ace.ptr, &uni.ptr, IDNA_ALLOW_UNASSIGNED)
      != IDNA_SUCCESS)
    return std::nullopt;
  std::string res{uni.ptr};
  ascii_lower(res);
  if (res.empty() || res.size() > max_part)
    return std::nullopt;
  // RFC 3490 §4.2 step 7: the U-labels must give the A-labels back. An
  // A-label that does not (e.g. "xn--bchrean--bchrealp") is refused, or
  // the JID would print as one that prepares to a different JID.
  idn_str again;
  if (idna_to_ascii_8z(res.c_str(), &again.ptr, flags) != IDNA_SUCCESS)
    return std::nullopt;
  std::string a{again.ptr}, b{ace.ptr};
  ascii_lower(a);
  ascii_lower(b);
  if (a != b)
    return std::nullopt;
  return res;
}

} // namespace

std::optional<jid> jid::parse(std::string_view s) {
  std::string_view local;
  std::string_view domain;
  std::string_view resource;
  bool has_local = false;
  bool has_resource = false;
  auto slash = s.find('/');
  auto head = s;
  if (slash != std::string_view::npos) {
    has_resource = true;
    resource = s.substr(slash + 1);
    head = s.substr(0, slash);
  }
  auto at = head.find('@');
  if (at != std::string_view::npos) {
    has_local = true;
    local = head.substr(0, at);
    domain = head.substr(at + 1);
  } else {
    domain = head;
  }
  if ((has_local && local.empty()) || (has_resource && resource.empty()))
    return std::nullopt;
  return make(local, domain, resource);
}

std::optional<jid> jid::make(std::string_view local, std::string_view domain,
                             std::string_view resource) {
  jid res;
  if (!local.empty()) {
    auto l = prep_local(local);
    if (!l)
      return std::nullopt;
    res.local_ = std::move(*l);
  }
  auto d = prep_domain(domain);
  if (!d)
    return std::nullopt;
  res.domain_ = std::move(*d);
  if (!resource.empty()) {
    auto r = prep_resource(resource);
    if (!r)
      return std::nullopt;
    res.resource_ = std::move(*r);
  }
  return res;
}

std::optional<std::string> jid::prep_resource(std::string_view r) {
  return prep(r, "Resourceprep");
}

std::optional<std::string> jid::prep_local(std::string_view l) {
  return prep(l, "Nodeprep");
}

jid jid::bare() const {
  jid res = *this;
  res.resource_.clear();
  return res;
}

jid jid::with_resource(std::string prepared_resource) const {
  jid res = *this;
  res.resource_ = std::move(prepared_resource);
  return res;
}

std::string jid::str() const {
  auto res = bare_str();
  if (!resource_.empty()) {
    res += '/';
    res += resource_;
  }
  return res;
}

std::string jid::bare_str() const {
  std::string res;
  res.reserve(local_.size() + domain_.size() + resource_.size() + 2);
  if (!local_.empty()) {
    res += local_;
    res += '@';
  }
  res += domain_;
  return res;
}

bool operator<(const jid& a, const jid& b) {
  return std::tie(a.domain_, a.local_, a.resource_)
         < std::tie(b.domain_, b.local_, b.resource_);
}

} // namespace dja
