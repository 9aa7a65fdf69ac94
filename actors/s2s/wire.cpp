#include "s2s/wire.hpp"

#include "common/crypto.hpp"

namespace dja::s2s {

std::string stream_header(const std::string& from, const std::string& to,
                          const std::string& id) {
  std::string out = "<?xml version='1.0'?><stream:stream xmlns='jabber:server'"
                    " xmlns:stream='http://etherx.jabber.org/streams'"
                    " xmlns:db='jabber:server:dialback'";
  auto attr = [&](const char* name, const std::string& value) {
    if (value.empty())
      return;
    out += ' ';
    out += name;
    out += "='";
    out += xml::escape(value);
    out += '\'';
  };
  attr("from", from);
  attr("to", to);
  attr("id", id);
  out += " version='1.0' xml:lang='en'>";
  return out;
}

namespace {

void retag_in_place(xml::element& e, const char* from_ns, const char* to_ns) {
  if (e.ns == from_ns)
    e.ns = to_ns;
  for (auto& n : e.children)
    if (n.elem) {
      // Children are shared with the original: copy before changing.
      n.elem = std::make_shared<xml::element>(*n.elem);
      retag_in_place(*n.elem, from_ns, to_ns);
    }
}

} // namespace

xml::element_ptr retag(const xml::element& e, const char* from_ns,
                       const char* to_ns) {
  auto copy = std::make_shared<xml::element>(e);
  retag_in_place(*copy, from_ns, to_ns);
  return copy;
}

std::string to_wire(const xml::element& e) {
  std::string out;
  xml::serialize(e, out, ns_server);
  return out;
}

std::string random_id() {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : crypto::random_bytes(8)) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

} // namespace dja::s2s
