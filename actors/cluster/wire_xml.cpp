#include "cluster/wire_xml.hpp"

#include <vector>

#include "common/stream_parser.hpp"

namespace dja::cluster::wire_xml {

namespace {

constexpr const char open_tag[]
  = "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";

/// Large enough for any stanza a connection accepted (the c2s limit is
/// at most 64 MiB, see server.max_stanza_size).
constexpr size_t max_bytes = 64 * 1024 * 1024 + 1024;

} // namespace

std::string serialize(const xml::element& e) {
  return xml::to_string(e, "jabber:client");
}

xml::element_ptr parse(const std::string& text) {
  xml::stream_parser p{max_bytes};
  std::vector<xml::stream_event> events;
  if (p.feed(open_tag, sizeof(open_tag) - 1, events) != xml::parse_error::none)
    return nullptr;
  if (p.feed(text.data(), text.size(), events) != xml::parse_error::none)
    return nullptr;
  xml::element_ptr out;
  for (auto& ev : events)
    if (ev.kind == xml::stream_event::stanza) {
      if (out)
        return nullptr; // more than one element
      out = ev.elem;
    }
  return out;
}

} // namespace dja::cluster::wire_xml
