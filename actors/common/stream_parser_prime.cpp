// Hibernation of a stream parser: an idle connection drops its libxml2
// context (12-17 KiB) and keeps only the stream header's start tag
// (its qualified name and namespace declarations). The next bytes go to a
// new context that first parses that start tag without reporting it.
//
// Why the new context reports exactly what the old one would have:
// - the old context held at most whitespace after the last item (the
//   header or a stanza), which produces no events and counts toward no
//   stanza's size (see stream_parser.cpp). It still matters how much of
//   it there was: libxml2 parses text only once it sees a '<' or 300
//   bytes, so that e.g. "  &foo;" fails later than "&foo;". The new
//   context gets as many spaces;
// - libxml2 state that outlives a start tag is the element stack and the
//   namespaces in scope, which the primed start tag rebuilds. The end tag
//   must match the header's qualified name as written, so its prefix is
//   kept. The XML declaration leaves nothing that matters later (version
//   and encoding are ignored, standalone only changes errors that are
//   fatal anyway without a DTD). The name dictionary starts empty, so its
//   limit counts names since the wake-up rather than since the header.

#include "common/stream_parser_impl.hpp"

namespace dja::xml {

namespace {

/// Writes a value that libxml2 hands back unchanged when parsed as an
/// attribute value in single quotes (with entity substitution off).
void append_attr_value(std::string& out, const char* s) {
  for (; *s != '\0'; ++s) {
    switch (*s) {
      // libxml2 passes '&' only as the start of "&#38;", which parses
      // back to itself.
      case '<':
        out += "&lt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      // Literal ones would be normalized to spaces.
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += *s;
    }
  }
}

const char* str(const xmlChar* s) {
  return s != nullptr ? reinterpret_cast<const char*>(s) : "";
}

} // namespace

void stream_parser::impl::remember_header(const xmlChar* name,
                                          const xmlChar* prefix, int nb_ns,
                                          const xmlChar** nss) {
  auto& tag = header_tag;
  tag = "<";
  if (prefix != nullptr)
    tag.append(str(prefix)).append(":");
  tag.append(str(name));
  for (int i = 0; i < nb_ns; ++i) {
    tag += " xmlns";
    if (nss[2 * i] != nullptr)
      tag.append(":").append(str(nss[2 * i]));
    tag += "='";
    append_attr_value(tag, str(nss[2 * i + 1]));
    tag += "'";
  }
  tag += ">";
  tag.shrink_to_fit();
}

bool stream_parser::impl::can_hibernate() const {
  return err == parse_error::none && depth == 1 && at_rest();
}

void stream_parser::impl::hibernate() {
  if (ctxt == nullptr || !can_hibernate())
    return;
  // libxml2 has read up to the end of the last item or of the whitespace
  // it passed on, where `mark` is.
  held = fed - mark;
  xmlFreeParserCtxt(ctxt);
  ctxt = nullptr;
  stanza.reset();
  std::vector<element*>{}.swap(stack);
  scanner = detail::attr_scanner{}; // it stood in text, as it will now
}

void stream_parser::impl::prime() {
  auto in = header_tag;
  in.append(held, ' ');
  priming = true;
  primed = false;
  in_buffer = fed + in.size();
  xmlParseChunk(ctxt, in.data(), static_cast<int>(in.size()), 0);
  fed = in_buffer;
  priming = false;
  // Cannot fail: the stream header declared the same names.
  if (!primed || ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0)
    fail(parse_error::not_well_formed);
  item_ended(fed - held);
  held = 0;
}

} // namespace dja::xml
