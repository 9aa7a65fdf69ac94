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
  // The parser's bound counts the tree's memory, not only the text: a
  // document of many small elements needs several times its length
  // (tests/fuzz: corpus/stored_xml/crash-many-groups). It was bounded
  // when it was stored; this only has to be large enough.
  stream_parser p{64 * 1024 * 1024};
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
