#include "common/stream_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "common/stream_parser_impl.hpp"

// Sizes: a stanza's size is counted from libxml2's read position, as the
// bytes between the end of the previous top-level item (the header, a
// stanza, or text between stanzas) and the end of its end tag. The
// header's size includes the XML declaration before it. While a stanza is
// incomplete, everything fed since the previous item counts except the
// whitespace right after it, so input is cut off within one slice (4 KiB)
// after passing the limit.
//
// Hibernation (stream_parser_prime.cpp) relies on whitespace between
// stanzas never counting: a parser primed with the header and fed only
// what came after that whitespace must count the same.

namespace dja::xml {

namespace {

/// Deepest element nesting accepted (the stream header is depth 1);
/// deeper input fails with parse_error::too_big.
constexpr std::size_t max_depth = 256;

/// The tree built for a stanza may take about this many times the size
/// limit in memory; more fails with parse_error::too_big. Guards against
/// e.g. a long namespace name copied into thousands of tiny elements.
constexpr std::size_t tree_factor = 8;

/// Input goes to libxml2 in slices of at most this many bytes, so that
/// limits are checked while a large chunk is parsed.
constexpr std::size_t slice_size = 4096;

std::size_t saturated(std::size_t x, std::size_t factor) {
  return x > SIZE_MAX / factor ? SIZE_MAX : x * factor;
}

/// Heap bytes that a std::string of this size owns (beyond SSO).
std::size_t heap_of(std::size_t n) {
  return n > 15 ? n + 1 : 0;
}

std::string to_str(const xmlChar* s) {
  return s != nullptr ? std::string{reinterpret_cast<const char*>(s)}
                      : std::string{};
}

/// With entity substitution off, libxml2 hands every '&' in an attribute
/// value to SAX as "&#38;"; no other '&' can occur there.
std::string attr_value(const xmlChar* first, const xmlChar* last) {
  std::string res;
  res.reserve(static_cast<std::size_t>(last - first));
  for (auto i = first; i < last; ++i) {
    res += static_cast<char>(*i);
    if (*i == '&' && last - i >= 5 && std::memcmp(i, "&#38;", 5) == 0)
      i += 4;
  }
  return res;
}

/// A namespace URI: libxml2 escapes '&' there as in attribute values
/// (tests/fuzz found "a&amp;b" arriving as "a&#38;b" and growing on every
/// hop: corpus/dialback/crash-ns-amp).
std::string ns_str(const xmlChar* s) {
  if (s == nullptr)
    return {};
  return attr_value(s, s + xmlStrlen(s));
}

/// Converts SAX2 attributes (5 pointers each) to ours.
std::vector<attribute> make_attrs(int n, const xmlChar** atts) {
  std::vector<attribute> res(static_cast<std::size_t>(n));
  for (auto& x : res) {
    if (atts[1] != nullptr && xmlStrEqual(atts[1], BAD_CAST "xml")) {
      x.name = "xml:" + to_str(atts[0]);
    } else {
      x.name = to_str(atts[0]);
      x.ns = ns_str(atts[2]);
    }
    x.value = attr_value(atts[3], atts[4]);
    atts += 5;
  }
  return res;
}

} // namespace

const char* to_condition(parse_error e) {
  switch (e) {
    case parse_error::not_well_formed:
      return "not-well-formed";
    case parse_error::restricted_xml:
      return "restricted-xml";
    case parse_error::too_big:
      return "policy-violation";
    case parse_error::unsupported_encoding:
      return "unsupported-encoding";
    case parse_error::unsupported_version:
      return "unsupported-version";
    case parse_error::nested_header:
      return "unsupported-stanza-type";
    default:
      return "";
  }
}

namespace {

const xmlSAXHandler* sax_handler() {
  static const xmlSAXHandler handler = [] {
    using impl = stream_parser::impl;
    xmlSAXHandler h;
    std::memset(&h, 0, sizeof(h));
    h.initialized = XML_SAX2_MAGIC;
    h.startElementNs = impl::on_start;
    h.endElementNs = impl::on_end;
    h.characters = impl::on_text;
    h.ignorableWhitespace = impl::on_text;
    h.cdataBlock = impl::on_text;
    h.serror = impl::on_error;
    h.processingInstruction = [](void* ctx, const xmlChar*, const xmlChar*) {
      impl::on_restricted(ctx);
    };
    h.comment = [](void* ctx, const xmlChar*) { impl::on_restricted(ctx); };
    h.internalSubset = [](void* ctx, const xmlChar*, const xmlChar*,
                          const xmlChar*) { impl::on_restricted(ctx); };
    h.externalSubset = h.internalSubset;
    // Called for every entity reference except the five predefined ones.
    // Only records the error: libxml2 then raises its own (fatal) error,
    // which disables callbacks; parse() stops libxml2 after the slice.
    h.getEntity = [](void* ctx, const xmlChar*) -> xmlEntityPtr {
      static_cast<impl*>(ctx)->fail(parse_error::restricted_xml, false);
      return nullptr;
    };
    h.getParameterEntity = h.getEntity;
    return h;
  }();
  return &handler;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

stream_parser::impl::impl(std::size_t max)
  : max_bytes(max), tree_limit(saturated(max, tree_factor)) {
  // nop: libxml2 comes with the first byte
}

stream_parser::impl::~impl() {
  if (ctxt != nullptr)
    xmlFreeParserCtxt(ctxt);
}

void stream_parser::impl::set_max(std::size_t max) {
  max_bytes = max;
  tree_limit = saturated(max, tree_factor);
  set_dict_limit();
}

void stream_parser::impl::set_dict_limit() {
  // Names and namespace URIs are interned for the life of the context.
  if (ctxt != nullptr && ctxt->dict != nullptr)
    xmlDictSetLimit(ctxt->dict,
                    std::max<std::size_t>(saturated(max_bytes, 4), 65536));
}

void stream_parser::impl::open() {
  auto sax = const_cast<xmlSAXHandler*>(sax_handler());
  ctxt = xmlCreatePushParserCtxt(sax, this, nullptr, 0, nullptr);
  if (ctxt == nullptr)
    throw std::bad_alloc{};
  // No DTD loading, no entity substitution (both off by default).
  xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
  // XMPP is UTF-8 only: no autodetection, no encoding switch.
  xmlSwitchEncoding(ctxt, XML_CHAR_ENCODING_UTF8);
  set_dict_limit();
}

parse_error stream_parser::impl::feed(const char* data, std::size_t len) {
  // A UTF-8 byte order mark may start the stream. libxml2, switched to
  // UTF-8 before it could see one, would reject it.
  static constexpr char bom[] = "\xEF\xBB\xBF";
  for (; bom_seen < 3 && len > 0; ++bom_seen, ++data, --len) {
    if (*data != bom[bom_seen]) {
      if (bom_seen > 0)
        fail(parse_error::not_well_formed);
      bom_seen = 3;
      break;
    }
  }
  if (!decl_checked)
    check_declaration(data, len);
  while (len > 0 && err == parse_error::none) {
    auto n = std::min(len, slice_size);
    parse(data, n);
    data += n;
    len -= n;
  }
  return err;
}

void stream_parser::impl::parse(const char* data, std::size_t len) {
  if (ctxt == nullptr) {
    open();
    if (in_stream)
      prime(); // after hibernate()
    if (failed())
      return;
  }
  auto ok = scanner.scan(data, len);
  auto start = fed;
  if (ok > 0) {
    // xmlParseChunk keeps a trailing CR back until the next chunk.
    in_buffer = fed + ok - (data[ok - 1] == '\r' ? 1 : 0);
    xmlParseChunk(ctxt, data, static_cast<int>(ok), 0);
    in_buffer = fed += ok;
  }
  if (lead == none) {
    // Looks for the end of the whitespace after the last item.
    auto i = static_cast<std::size_t>(std::max(item_end, start) - start);
    while (i < ok && is_space(data[i]))
      ++i;
    if (i < ok)
      lead = start + i;
  }
  if (err == parse_error::none
      && (ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0))
    err = parse_error::not_well_formed;
  if (err == parse_error::none && (ok < len || (!ended && over_limit())))
    err = parse_error::too_big;
  failed();
}

namespace {

/// The value of pseudo-attribute `name` in an XML declaration, or "".
std::string decl_value(const std::string& decl, const char* name) {
  auto pos = decl.find(name);
  if (pos == std::string::npos)
    return {};
  pos = decl.find_first_of("'\"", pos);
  if (pos == std::string::npos)
    return {};
  auto end = decl.find(decl[pos], pos + 1);
  if (end == std::string::npos)
    return {};
  return decl.substr(pos + 1, end - pos - 1);
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

} // namespace

void stream_parser::impl::check_declaration(const char* data,
                                            std::size_t len) {
  // libxml2, told to ignore declared encodings (XMPP is UTF-8 only),
  // forgets the declaration: read it here, from the first bytes.
  static constexpr std::string_view start = "<?xml ";
  static constexpr std::size_t max_decl = 256;
  decl.append(data, std::min(len, max_decl - decl.size()));
  auto n = std::min(decl.size(), start.size());
  if (decl.compare(0, n, start, 0, n) != 0) {
    decl_checked = true; // no declaration
  } else if (auto end = decl.find("?>"); end != std::string::npos) {
    decl.resize(end);
    decl_checked = true;
    auto enc = decl_value(decl, "encoding");
    auto ver = decl_value(decl, "version");
    if (!enc.empty() && !equal_nocase(enc, "UTF-8"))
      fail(parse_error::unsupported_encoding, false);
    else if (!ver.empty() && ver != "1.0")
      fail(parse_error::unsupported_version, false);
  } else if (decl.size() >= max_decl) {
    decl_checked = true; // libxml2 will find what is wrong with it
  }
  if (decl_checked)
    std::string{}.swap(decl);
}

bool stream_parser::impl::over_limit() const {
  if (!in_stream)
    return pending(fed) > max_bytes; // the header, so far
  if (lead == none)
    return false; // only whitespace since the last item
  return fed - std::max(mark, lead) > max_bytes;
}

void stream_parser::impl::on_start(void* ctx, const xmlChar* name,
                                   const xmlChar* prefix, const xmlChar* uri,
                                   int nb_ns, const xmlChar** nss,
                                   int nb_attrs, int, const xmlChar** atts) {
  auto self = static_cast<impl*>(ctx);
  if (self->priming) {
    self->primed = true; // the remembered header: reported already
    return;
  }
  if (self->failed())
    return;
  if (++self->depth > max_depth || nb_attrs + nb_ns > detail::max_attrs) {
    self->fail(parse_error::too_big);
    return;
  }
  if (self->depth == 1) {
    // libxml2 stands on the '>' or "/>" that ends the tag.
    auto cur = self->ctxt->input->cur;
    auto end = self->pos() + (*cur == '>' ? 1 : *cur == '/' ? 2 : 0);
    if (self->pending(end) > self->max_bytes) {
      self->fail(parse_error::too_big);
      return;
    }
    stream_event ev{stream_event::open, {}, nullptr};
    ev.header.name = to_str(name);
    ev.header.ns = ns_str(uri);
    for (int i = 0; i < nb_ns; ++i)
      if (nss[2 * i] == nullptr)
        ev.header.default_ns = ns_str(nss[2 * i + 1]);
    ev.header.attrs = make_attrs(nb_attrs, atts);
    self->out->push_back(std::move(ev));
    self->remember_header(name, prefix, nb_ns, nss);
    self->in_stream = true;
    self->item_ended(end);
    return;
  }
  if (self->depth == 2 && xmlStrEqual(name, BAD_CAST "stream")
      && xmlStrEqual(uri, BAD_CAST "http://etherx.jabber.org/streams")) {
    self->fail(parse_error::nested_header);
    return;
  }
  element e{to_str(name), ns_str(uri)};
  e.attrs = make_attrs(nb_attrs, atts);
  auto cost = sizeof(element) + sizeof(node) + 16 + heap_of(e.name.size())
              + heap_of(e.ns.size());
  for (auto& a : e.attrs)
    cost += sizeof(attribute) + heap_of(a.name.size())
            + heap_of(a.value.size()) + heap_of(a.ns.size());
  if (!self->charge(cost))
    return;
  if (self->depth == 2) {
    self->stanza = std::make_shared<element>(std::move(e));
    self->stack.assign(1, self->stanza.get());
  } else {
    self->stack.push_back(&self->stack.back()->add_child(std::move(e)));
  }
}

void stream_parser::impl::on_end(void* ctx, const xmlChar*, const xmlChar*,
                                 const xmlChar*) {
  auto self = static_cast<impl*>(ctx);
  if (self->failed())
    return;
  auto end = self->pos(); // libxml2 stands after the end tag
  switch (self->depth--) {
    case 1:
      self->in_stream = false;
      self->ended = true;
      self->out->push_back(stream_event{stream_event::close, {}, nullptr});
      break;
    case 2:
      if (self->pending(end) > self->max_bytes) {
        self->fail(parse_error::too_big);
        return;
      }
      self->stack.clear();
      self->out->push_back(
        stream_event{stream_event::stanza, {}, std::move(self->stanza)});
      self->item_ended(end);
      break;
    default:
      self->stack.pop_back();
  }
}

void stream_parser::impl::on_text(void* ctx, const xmlChar* ch, int len) {
  auto self = static_cast<impl*>(ctx);
  if (self->failed())
    return;
  auto n = static_cast<std::size_t>(len);
  if (self->depth <= 1) {
    // Whitespace keepalives (or stray text) between stanzas: not part of
    // the next stanza's size. libxml2 passes either a pointer into its
    // input or a copy (of text it had to normalize, e.g. CR LF, or of a
    // reference); it calls back for a copy after reading what it copied
    // (a long run is passed on in pieces, the last one when it ends).
    auto in = self->ctxt->input;
    if (ch >= in->base && ch + len <= in->end)
      self->set_mark(self->offset(ch + len));
    else
      self->set_mark(self->pos());
    return;
  }
  auto parent = self->stack.back();
  bool merge = !parent->children.empty() && !parent->children.back().elem;
  if (self->charge(n + (merge ? 0 : sizeof(node))))
    parent->add_text(std::string{reinterpret_cast<const char*>(ch), n});
}

void stream_parser::impl::on_error(void* ctx, xmlErrorPtr e) {
  // Only records: stopping libxml2 from inside its error reporting is not
  // safe. Fatal errors disable SAX callbacks; the others (namespace
  // errors) are checked by the callbacks.
  auto self = static_cast<impl*>(ctx);
  if (e == nullptr || e->level < XML_ERR_ERROR)
    return;
  self->fail(e->code == XML_ERR_NO_MEMORY ? parse_error::too_big
                                          : parse_error::not_well_formed,
             false);
}

// -- stream_parser ------------------------------------------------------------

stream_parser::stream_parser(std::size_t max_stanza_bytes)
  : impl_(std::make_unique<impl>(max_stanza_bytes)) {
  // nop
}

stream_parser::~stream_parser() = default;

parse_error stream_parser::feed(const char* data, std::size_t len,
                                std::vector<stream_event>& out) {
  impl_->out = &out;
  auto res = impl_->feed(data, len);
  impl_->out = nullptr;
  return res;
}

void stream_parser::reset() {
  impl_ = std::make_unique<impl>(impl_->max_bytes);
}

void stream_parser::set_max_stanza_size(std::size_t max_stanza_bytes) {
  impl_->set_max(max_stanza_bytes);
}

std::size_t stream_parser::max_stanza_size() const {
  return impl_->max_bytes;
}

bool stream_parser::in_stream() const {
  return impl_->in_stream;
}

bool stream_parser::can_hibernate() const {
  return impl_->can_hibernate();
}

void stream_parser::hibernate() {
  impl_->hibernate();
}

bool stream_parser::hibernated() const {
  return impl_->in_stream && impl_->ctxt == nullptr;
}

} // namespace dja::xml
