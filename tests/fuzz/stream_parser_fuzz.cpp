// Fuzz target: the XML stream parser (actors/common/stream_parser*), RFC
// 6120 §11. The input is a whole stream as a peer would send it. It is fed
// once in one piece and once split at points taken from the input (with
// hibernate() wherever the parser allows it); both runs must report the
// same events and the same error, because TCP may cut a stream anywhere.
// Every stanza must survive serialize() and parse again unchanged.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"

using namespace dja;

namespace {

/// Small enough that the fuzzer reaches the size limit.
constexpr size_t max_stanza = 2048;

struct run {
  std::vector<std::string> events;
  xml::parse_error err = xml::parse_error::none;
  std::vector<xml::element_ptr> stanzas;
};

run feed(const uint8_t* data, size_t size, const std::vector<size_t>& chunks,
         bool hibernate) {
  run r;
  xml::stream_parser p{max_stanza};
  std::vector<xml::stream_event> evs;
  size_t pos = 0;
  for (auto len : chunks) {
    r.err = p.feed(reinterpret_cast<const char*>(data) + pos, len, evs);
    pos += len;
    if (r.err != xml::parse_error::none)
      break;
    if (hibernate && p.can_hibernate())
      p.hibernate();
  }
  for (auto& ev : evs) {
    r.events.push_back(fuzz::describe(ev));
    if (ev.kind == xml::stream_event::stanza)
      r.stanzas.push_back(ev.elem);
  }
  return r;
}

std::string joined(const run& r) {
  std::string s = std::string{"error: "} + xml::to_condition(r.err) + "\n";
  for (auto& e : r.events)
    s += e + "\n";
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto whole = feed(data, size, {size}, false);
  auto chunks = fuzz::split_points(data, size);
  auto split = feed(data, size, chunks, (size & 1) != 0);
  // The size limit counts buffered bytes, which depend on the split only
  // within one chunk. libxml2 decides some errors only when it has enough
  // of a construct (a tag's end, a CDATA block), which depends on the
  // split: so one run may still be waiting (no error) where the other has
  // failed, as long as the failed run reported every stanza the waiting
  // run did. Everything else must be identical.
  auto prefix_of = [](const run& a, const run& b) {
    return a.events.size() <= b.events.size()
           && std::equal(a.events.begin(), a.events.end(), b.events.begin());
  };
  bool waiting = (split.err == xml::parse_error::none && prefix_of(split, whole))
                 || (whole.err == xml::parse_error::none
                     && prefix_of(whole, split));
  if (whole.err != xml::parse_error::too_big
      && split.err != xml::parse_error::too_big && !waiting
      && (whole.err != split.err || whole.events != split.events))
    fuzz::fail("split stream differs from whole stream",
               joined(whole) + "---\n" + joined(split));
  for (auto& st : whole.stanzas)
    fuzz::check_round_trip(*st, fuzz::client_header, "jabber:client");
  return 0;
}
