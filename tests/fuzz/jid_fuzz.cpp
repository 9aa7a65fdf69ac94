// Fuzz target: JID parsing and preparation (actors/common/jid*, RFC 7622
// §3). Whatever parses must print as a JID that parses to itself (a
// prepared JID is stable), its parts must rebuild it through make(), and
// the part preparations alone must accept their own output.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/jid.hpp"
#include "fuzz_util.hpp"

using namespace dja;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096)
    return 0;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  if (auto j = jid::parse(in)) {
    auto s = j->str();
    auto again = jid::parse(s);
    if (!again || *again != *j)
      fuzz::fail("a prepared JID does not parse to itself", s);
    auto made = jid::make(j->local(), j->domain(), j->resource());
    if (!made || *made != *j)
      fuzz::fail("jid::make of the parts differs", s);
    if (j->bare().str() != j->bare_str() || !j->bare().is_bare())
      fuzz::fail("bare() and bare_str() differ", s);
    if (j->domain().empty() || j->domain().size() > 1023
        || j->local().size() > 1023 || j->resource().size() > 1023)
      fuzz::fail("a part is empty or over 1023 bytes", s);
  }
  if (auto r = jid::prep_resource(in)) {
    auto again = jid::prep_resource(*r);
    if (!again || *again != *r)
      fuzz::fail("prep_resource is not stable", *r);
  }
  if (auto l = jid::prep_local(in)) {
    auto again = jid::prep_local(*l);
    if (!again || *again != *l)
      fuzz::fail("prep_local is not stable", *l);
  }
  return 0;
}
