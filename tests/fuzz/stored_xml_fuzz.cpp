// Fuzz target: XML that plugins store and read back. The input is what a
// client sends after its stream header; each stanza goes where a plugin
// would put it and must come back unchanged:
//   vCard / private XML (XEP-0054, XEP-0049): serialized, then
//     xml::parse_stored() (common/stored_xml.hpp);
//   offline messages (XEP-0160): stamped (XEP-0203), serialized, then
//     xml::parse_stored();
//   roster items (RFC 6121 §2.1): an item built from the stanza's
//     attributes, actors/common/roster_xml item(), parsed back.
// The raw input is also read as a stored row would be (a damaged database).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/jid.hpp"
#include "common/roster_xml.hpp"
#include "common/stored_xml.hpp"
#include "fuzz_util.hpp"
#include "plugins/offline/common/policy.hpp"

using namespace dja;

namespace {

void check_document(const xml::element& e) {
  auto text = xml::to_string(e, "jabber:client");
  auto back = xml::parse_stored(text);
  if (!back || !fuzz::same(e, *back))
    fuzz::fail("stored document does not read back", text);
}

void check_offline(const xml::element& e) {
  auto stored = plugins::offline::stamped(e, "example.com");
  auto text = xml::to_string(stored, "jabber:client");
  auto back = xml::parse_stored(text);
  if (!back || !fuzz::same(stored, *back))
    fuzz::fail("stored offline message does not read back", text);
}

void check_roster(const xml::element& e) {
  auto contact = jid::parse(e.attr_or("jid"));
  if (!contact)
    return;
  hooks::roster_item item;
  item.contact = contact->bare();
  item.name = e.attr_or("name");
  for (auto g : e.elements())
    item.groups.push_back(g->text());
  item.subscription = e.attr_or("subscription", "none");
  item.ask_out = e.attr("ask") != nullptr;
  item.approved = e.attr("approved") != nullptr;
  for (bool removed : {false, true}) {
    auto x = roster_xml::item(item, removed);
    auto text = xml::to_string(x, "jabber:client");
    auto back = xml::parse_stored(text);
    if (!back || back->attr_or("jid") != item.contact.str()
        || (!removed && back->attr_or("name") != item.name))
      fuzz::fail("roster item does not read back", text);
    if (!removed) {
      std::vector<std::string> groups;
      for (auto g : back->elements())
        groups.push_back(g->text());
      if (groups != item.groups)
        fuzz::fail("roster groups do not read back", text);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void) quiet;
  if (size > 16 * 1024)
    return 0;
  std::string in{reinterpret_cast<const char*>(data), size};
  xml::parse_stored(in);
  xml::parse_error err;
  for (auto& e : fuzz::parse_stanzas(fuzz::client_header, in, err, 4096)) {
    check_document(*e);
    check_offline(*e);
    check_roster(*e);
  }
  return 0;
}
