// Fuzz target: the cluster wire format (actors/cluster/wire_xml*): the
// stanza text a peer node sends. Whatever parses must serialize and parse
// again to the same element (the receiving node forwards it).
#include <cstdint>
#include <string>

#include "cluster/wire_xml.hpp"
#include "fuzz_util.hpp"

using namespace dja;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024)
    return 0;
  std::string text{reinterpret_cast<const char*>(data), size};
  auto e = cluster::wire_xml::parse(text);
  if (!e)
    return 0;
  auto wire = cluster::wire_xml::serialize(*e);
  auto again = cluster::wire_xml::parse(wire);
  if (!again || !fuzz::same(*e, *again))
    fuzz::fail("cluster wire text does not parse back", wire);
  return 0;
}
