#include "common/stored_xml.hpp"

#include <string>
#include <vector>

#include "common/stream_parser.hpp"

namespace dja::xml {

namespace {

constexpr std::string_view open_tag
  = "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";

} // namespace

element_ptr parse_stored(std::string_view text) {
  // The bound is the text itself: whatever was stored is read back whole.
  stream_parser p{text.size() + open_tag.size() + 64};
  std::vector<stream_event> events;
  if (p.feed(open_tag.data(), open_tag.size(), events) != parse_error::none
      || p.feed(text.data(), text.size(), events) != parse_error::none)
    return nullptr;
  element_ptr found;
  for (auto& ev : events) {
    if (ev.kind != stream_event::stanza)
      continue;
    if (found)
      return nullptr; // more than one element
    found = ev.elem;
  }
  return found;
}

} // namespace dja::xml
