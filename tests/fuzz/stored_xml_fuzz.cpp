// Fuzz target: XML that plugins store and read back. The input is what a
// client sends after its stream header; each stanza goes where a plugin
// would put it and must come back unchanged:
//   vCard / private XML (XEP-0054, XEP-0049): serialized, then
//     plugins/vcard/sqlite/doc_store parse_element();
//   offline messages (XEP-0160): stamped (XEP-0203), serialized, then
//     plugins/offline/common/policy parse_stored();
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
#include "fuzz_util.hpp"
#include "plugins/offline/common/policy.hpp"
#include "plugins/vcard/sqlite/doc_store.hpp"

using namespace dja;

namespace {

void check_document(const xml::element& e) {
  auto text = xml::to_string(e, "jabber:client");
  auto back = plugins::sqlite_docs::parse_element(text);
  if (!back || !fuzz::same(e, *back))
    fuzz::fail("stored document does not read back", text);
}

void check_offline(const xml::element& e) {
  auto stored = plugins::offline::stamped(e, "example.com");
  std::vector<std::pair<int64_t, std::string>> rows{
    {1, xml::to_string(stored, "jabber:client")}};
  std::vector<int64_t> broken;
  auto out = plugins::offline::parse_stored(rows, "fuzz", "example.com",
                                            "user", broken);
  if (out.size() != 1 || !broken.empty() || !fuzz::same(stored, *out[0].stanza))
    fuzz::fail("stored offline message does not read back", rows[0].second);
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
    auto back = plugins::sqlite_docs::parse_element(text);
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
  plugins::sqlite_docs::parse_element(in);
  std::vector<int64_t> broken;
  plugins::offline::parse_stored({{1, in}}, "fuzz", "example.com", "user",
                                 broken);
  xml::parse_error err;
  for (auto& e : fuzz::parse_stanzas(fuzz::client_header, in, err, 4096)) {
    check_document(*e);
    check_offline(*e);
    check_roster(*e);
  }
  return 0;
}
