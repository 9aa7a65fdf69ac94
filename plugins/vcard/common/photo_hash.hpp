#pragma once

// XEP-0153 vCard-Based Avatars §4.3: the avatar hash announced in presence
// is the hex SHA-1 of the image data, i.e. of the base64-decoded BINVAL of
// the vCard's PHOTO. avatar.hpp adds it to available presence through the
// presence.alter_available hook.

#include <optional>
#include <string>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/xml.hpp"

namespace dja::plugins::vcard {

/// The XEP-0153 photo hash of `vcard` (a <vCard xmlns='vcard-temp'/>):
/// the lower-case hex SHA-1 of the decoded PHOTO/BINVAL; "" when the vCard
/// has no photo (XEP-0153 §4.1: an empty <photo/> is announced); empty
/// optional when BINVAL is not valid base64. Whitespace in BINVAL (line
/// breaks are usual) is ignored.
inline std::optional<std::string> photo_hash(const xml::element& vcard) {
  constexpr const char* ns = "vcard-temp";
  auto photo = vcard.child("PHOTO", ns);
  auto bin = photo == nullptr ? nullptr : photo->child("BINVAL", ns);
  if (bin == nullptr)
    return std::string{};
  std::string b64;
  for (char c : bin->text())
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      b64 += c;
  if (b64.empty())
    return std::string{};
  auto data = base64::decode(b64);
  if (!data)
    return std::nullopt;
  auto h = crypto::digest(crypto::hash_fn::sha1, *data);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(h.size() * 2);
  for (unsigned char c : h) {
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out;
}

} // namespace dja::plugins::vcard
