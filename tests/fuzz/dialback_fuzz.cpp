// Fuzz target: what an s2s peer sends before and during Server Dialback
// (RFC 6120 §4.7, XEP-0220 §2): the input is the peer's stream (header,
// <db:result/>, <db:verify/>, stanzas). The header's to/from are taken the
// way s2s_in does (bare domain JIDs) and our answering header
// (s2s/wire.hpp stream_header) must parse back to them; every dialback
// element gets its key computed (XEP-0220 §2.4) and every element moved
// to jabber:client and back (retag, to_wire) must be unchanged.
#include <cstdint>
#include <string>
#include <vector>

#include "common/jid.hpp"
#include "fuzz_util.hpp"
#include "s2s/dialback.hpp"
#include "s2s/wire.hpp"

using namespace dja;

namespace {

constexpr const char* ns_client = "jabber:client";

/// A bare domain JID's domain, as s2s_in takes `to` and `from`.
std::string domain_of(const std::string& v) {
  auto j = jid::parse(v);
  return j && j->local().empty() && j->is_bare() ? j->domain() : "";
}

void check_header(const xml::stream_header& h) {
  std::string to, from, id;
  for (auto& a : h.attrs)
    if (a.ns.empty()) {
      if (a.name == "to")
        to = domain_of(a.value);
      else if (a.name == "from")
        from = domain_of(a.value);
      else if (a.name == "id")
        id = a.value;
    }
  // Our answer names us (their `to`) as `from`, them as `to`, and echoes
  // an id (here theirs, to test the escaping).
  auto answer = s2s::stream_header(to, from, id);
  xml::stream_parser p{1 << 16};
  std::vector<xml::stream_event> evs;
  if (p.feed(answer.data(), answer.size(), evs) != xml::parse_error::none
      || evs.size() != 1 || evs[0].kind != xml::stream_event::open)
    fuzz::fail("our s2s stream header does not parse", answer);
  std::string to2, from2, id2;
  for (auto& a : evs[0].header.attrs)
    if (a.ns.empty()) {
      if (a.name == "to")
        to2 = a.value;
      else if (a.name == "from")
        from2 = a.value;
      else if (a.name == "id")
        id2 = a.value;
    }
  if (to2 != from || from2 != to || id2 != id
      || evs[0].header.default_ns != s2s::ns_server)
    fuzz::fail("our s2s stream header parses differently", answer);
}

void check_element(const xml::element& e) {
  if (e.ns == s2s::ns_dialback) {
    auto key = s2s::dialback_key("secret", e.attr_or("to"), e.attr_or("from"),
                                 e.attr_or("id"));
    if (key.size() != 64)
      fuzz::fail("dialback key is not 64 hex digits", key);
  }
  auto inside = s2s::retag(e, s2s::ns_server, ns_client);
  auto back = s2s::retag(*inside, ns_client, s2s::ns_server);
  // retag moves both namespaces, so compare only when e had no
  // jabber:client element of its own.
  if (xml::to_string(e, "").find(ns_client) == std::string::npos
      && !fuzz::same(e, *back))
    fuzz::fail("retag there and back changed the element",
               xml::to_string(e, ""));
  auto wire = s2s::to_wire(*back);
  auto header = s2s::stream_header("a.example", "b.example", "1");
  xml::parse_error err;
  auto again = fuzz::parse_stanzas(header, wire, err, wire.size() + 1024);
  if (err != xml::parse_error::none || again.size() != 1
      || !fuzz::same(*back, *again[0]))
    fuzz::fail("to_wire does not parse back to the element", wire);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024)
    return 0;
  xml::stream_parser p{4096};
  std::vector<xml::stream_event> evs;
  p.feed(reinterpret_cast<const char*>(data), size, evs);
  for (auto& ev : evs) {
    if (ev.kind == xml::stream_event::open)
      check_header(ev.header);
    else if (ev.kind == xml::stream_event::stanza)
      check_element(*ev.elem);
  }
  return 0;
}
