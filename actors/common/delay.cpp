// XEP-0203 stamps (see delay.hpp).

#include "common/delay.hpp"

#include <ctime>

namespace dja::delay {

namespace {

constexpr const char* ns_delay = "urn:xmpp:delay";

} // namespace

std::string utc_stamp(std::time_t at) {
  std::tm tm{};
  gmtime_r(&at, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

xml::element stamped(const xml::element& s, const std::string& domain,
                     std::time_t at) {
  xml::element copy = s;
  xml::element d{"delay", ns_delay};
  d.set_attr("from", domain);
  d.set_attr("stamp", utc_stamp(at));
  copy.add_child(std::move(d));
  return copy;
}

bool has_stamp(const xml::element& s) {
  return s.child("delay", ns_delay) != nullptr;
}

} // namespace dja::delay
