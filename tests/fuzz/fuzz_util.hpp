#pragma once
// Helpers shared by the fuzz harnesses: split points taken from the input,
// parsing a text through the stream parser, and comparing element trees
// the way XML sees them (adjacent text nodes merged).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/stream_parser.hpp"
#include "common/xml.hpp"

namespace dja::fuzz {

/// Stops the run with a message (libFuzzer and the replayer report it as a
/// crash, with the input).
[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s\n%s\n", what, detail.c_str());
  std::abort();
}

/// Chunk lengths (1..64, summing to `size`) derived from the bytes
/// themselves, so that the fuzzer's mutations move the split points too.
inline std::vector<size_t> split_points(const uint8_t* data, size_t size) {
  std::vector<size_t> out;
  uint32_t h = 2166136261u;
  for (size_t pos = 0; pos < size;) {
    h = (h ^ data[pos]) * 16777619u;
    size_t len = 1 + (h >> 7) % 64;
    if (len > size - pos)
      len = size - pos;
    out.push_back(len);
    pos += len;
  }
  return out;
}

/// A string for an event, to compare two runs of the parser.
inline std::string describe(const xml::stream_event& ev) {
  switch (ev.kind) {
    case xml::stream_event::open: {
      std::string s = "open " + ev.header.name + " {" + ev.header.ns + "} {"
                      + ev.header.default_ns + "}";
      for (auto& a : ev.header.attrs)
        s += " {" + a.ns + "}" + a.name + "=" + a.value;
      return s;
    }
    case xml::stream_event::stanza:
      return "stanza " + xml::to_string(*ev.elem, "");
    default:
      return "close";
  }
}

/// Children with adjacent text nodes merged and empty ones dropped.
inline std::vector<xml::node> normalized(const xml::element& e) {
  std::vector<xml::node> out;
  for (auto& n : e.children) {
    if (n.elem)
      out.push_back(n);
    else if (!n.text.empty()) {
      if (!out.empty() && !out.back().elem)
        out.back().text += n.text;
      else
        out.push_back(n);
    }
  }
  return out;
}

/// Same name, namespace, attributes (in order) and content.
inline bool same(const xml::element& a, const xml::element& b) {
  if (a.name != b.name || a.ns != b.ns || a.attrs.size() != b.attrs.size())
    return false;
  for (size_t i = 0; i < a.attrs.size(); ++i)
    if (a.attrs[i].name != b.attrs[i].name || a.attrs[i].ns != b.attrs[i].ns
        || a.attrs[i].value != b.attrs[i].value)
      return false;
  auto ca = normalized(a);
  auto cb = normalized(b);
  if (ca.size() != cb.size())
    return false;
  for (size_t i = 0; i < ca.size(); ++i) {
    if (!ca[i].elem != !cb[i].elem)
      return false;
    if (ca[i].elem ? !same(*ca[i].elem, *cb[i].elem)
                   : ca[i].text != cb[i].text)
      return false;
  }
  return true;
}

/// The stanzas of `header` + `body` fed to a fresh parser in one piece;
/// `err` is what the parser said.
inline std::vector<xml::element_ptr>
parse_stanzas(std::string_view header, std::string_view body,
              xml::parse_error& err, size_t max = 1 << 20) {
  xml::stream_parser p{max};
  std::vector<xml::stream_event> evs;
  std::string all{header};
  all += body;
  err = p.feed(all.data(), all.size(), evs);
  std::vector<xml::element_ptr> out;
  for (auto& ev : evs)
    if (ev.kind == xml::stream_event::stanza)
      out.push_back(ev.elem);
  return out;
}

/// The client stream header the server's own parsers use around stored or
/// forwarded stanzas.
constexpr std::string_view client_header
  = "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";

/// Checks that serializing `e` (in `parent_ns`) and parsing that text
/// inside `header` gives `e` back.
inline void check_round_trip(const xml::element& e, std::string_view header,
                             std::string_view parent_ns) {
  auto text = xml::to_string(e, parent_ns);
  xml::parse_error err;
  auto again = parse_stanzas(header, text, err, text.size() + 1024);
  if (err != xml::parse_error::none || again.size() != 1)
    fail("serialized element does not parse again", text);
  if (!same(e, *again[0]))
    fail("serialized element parses to a different tree",
         text + "\n->\n" + xml::to_string(*again[0], parent_ns));
}

} // namespace dja::fuzz
