#include "common/stream_parser.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

// Sizes: a stanza's size is counted from libxml2's read position, as the
// bytes between the end of the previous top-level item (the header, a
// stanza, or whitespace between stanzas) and the end of its end tag. The
// header's size includes the XML declaration before it. While a stanza is
// incomplete, everything fed since the previous item counts, so input is
// cut off within one slice (4 KiB) after passing the limit.

namespace dja::xml {

namespace {

/// Deepest element nesting accepted (the stream header is depth 1);
/// deeper input fails with parse_error::too_big.
constexpr std::size_t max_depth = 256;

/// Most attributes (namespace declarations included) accepted on one
/// element; more fail with parse_error::too_big.
constexpr int max_attrs = 256;

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

/// Converts SAX2 attributes (5 pointers each) to ours.
std::vector<attribute> make_attrs(int n, const xmlChar** atts) {
  std::vector<attribute> res(static_cast<std::size_t>(n));
  for (auto& x : res) {
    if (atts[1] != nullptr && xmlStrEqual(atts[1], BAD_CAST "xml")) {
      x.name = "xml:" + to_str(atts[0]);
    } else {
      x.name = to_str(atts[0]);
      x.ns = to_str(atts[2]);
    }
    x.value = attr_value(atts[3], atts[4]);
    atts += 5;
  }
  return res;
}

/// Finds a start tag with too many attributes before libxml2 parses it
/// (libxml2 checks attribute uniqueness in quadratic time). Needs to be
/// exact only for input that is otherwise acceptable.
class attr_scanner {
public:
  /// The offset of the '=' exceeding `max_attrs` in a tag, or `len`.
  std::size_t scan(const char* p, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i) {
      auto c = p[i];
      switch (st_) {
        case text:
          if (c == '<')
            st_ = lt;
          break;
        case lt:
          st_ = c == '!' ? bang : c == '?' ? pi : c == '/' ? skip : tag;
          k_ = count_ = 0;
          break;
        case bang: // comment, CDATA section or declaration
          st_ = c == '-' || c == '[' ? skip3 : skip;
          end_ = c == '-' ? '-' : ']';
          break;
        case tag:
          if (c == '\'' || c == '"')
            st_ = quoted, end_ = c;
          else if (c == '>')
            st_ = text;
          else if (c == '=' && ++count_ > max_attrs)
            return i;
          break;
        case quoted:
          if (c == end_)
            st_ = tag;
          break;
        case skip: // until '>'
          if (c == '>')
            st_ = text;
          break;
        case skip3: // until "-->" or "]]>"
          if (c == '>' && k_ == 2)
            st_ = text;
          k_ = c == end_ ? std::min(k_ + 1, 2) : 0;
          break;
        case pi: // until "?>"
          if (c == '>' && k_ == 1)
            st_ = text;
          k_ = c == '?' ? 1 : 0;
          break;
      }
    }
    return len;
  }

private:
  enum { text, lt, bang, tag, quoted, skip, skip3, pi } st_ = text;
  char end_ = 0;
  int k_ = 0;
  int count_ = 0;
};

const xmlSAXHandler* sax_handler();

} // namespace

const char* to_condition(parse_error e) {
  switch (e) {
    case parse_error::not_well_formed:
      return "not-well-formed";
    case parse_error::restricted_xml:
      return "restricted-xml";
    case parse_error::too_big:
      return "policy-violation";
    default:
      return "";
  }
}

struct stream_parser::impl {
  explicit impl(std::size_t max)
    : max_bytes(max), tree_limit(saturated(max, tree_factor)) {
    auto sax = const_cast<xmlSAXHandler*>(sax_handler());
    ctxt = xmlCreatePushParserCtxt(sax, this, nullptr, 0, nullptr);
    if (ctxt == nullptr)
      throw std::bad_alloc{};
    // No DTD loading, no entity substitution (both off by default).
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
    // XMPP is UTF-8 only: no autodetection, no encoding switch.
    xmlSwitchEncoding(ctxt, XML_CHAR_ENCODING_UTF8);
    // Names and namespace URIs are interned for the life of the stream.
    if (ctxt->dict != nullptr)
      xmlDictSetLimit(ctxt->dict, std::max<std::size_t>(saturated(max, 4),
                                                        65536));
  }

  ~impl() {
    xmlFreeParserCtxt(ctxt);
  }

  parse_error feed(const char* data, std::size_t len);
  void parse(const char* data, std::size_t len);

  /// Records the first error; `halt` stops libxml2 (only from SAX content
  /// callbacks, where libxml2 expects it, or between chunks).
  void fail(parse_error e, bool halt = true) {
    if (err == parse_error::none)
      err = e;
    if (halt && ctxt->instate != XML_PARSER_EOF)
      xmlStopParser(ctxt);
  }

  /// Makes sure libxml2 stops after an error; true if there was one.
  bool failed() {
    if (err == parse_error::none)
      return false;
    fail(err);
    return true;
  }

  /// Stream offset of `p`, a pointer into libxml2's input buffer.
  std::uint64_t offset(const xmlChar* p) const {
    return in_buffer - static_cast<std::uint64_t>(ctxt->input->end - p);
  }

  /// Stream offset of libxml2's read position (valid inside callbacks).
  std::uint64_t pos() const {
    return offset(ctxt->input->cur);
  }

  /// Bytes of the pending top-level item (stanza or header) until `at`.
  std::uint64_t pending(std::uint64_t at) const {
    return at > mark + ws ? at - mark - ws : 0;
  }

  /// A top-level item ended at stream offset `at`.
  void set_mark(std::uint64_t at) {
    mark = at;
    ws = 0;
    cost = 0;
  }

  /// Adds `n` bytes to the cost of the tree being built.
  bool charge(std::size_t n) {
    cost += n;
    if (cost <= tree_limit)
      return true;
    fail(parse_error::too_big);
    return false;
  }

  static void on_start(void* ctx, const xmlChar* name, const xmlChar* prefix,
                       const xmlChar* uri, int nb_ns, const xmlChar** nss,
                       int nb_attrs, int nb_defaulted, const xmlChar** atts);
  static void on_end(void* ctx, const xmlChar*, const xmlChar*,
                     const xmlChar*);
  static void on_text(void* ctx, const xmlChar* ch, int len);
  static void on_error(void* ctx, xmlErrorPtr e);

  /// DOCTYPE, processing instruction or comment.
  static void on_restricted(void* ctx) {
    auto self = static_cast<impl*>(ctx);
    if (!self->failed())
      self->fail(parse_error::restricted_xml);
  }

  std::size_t max_bytes;
  std::size_t tree_limit;
  xmlParserCtxtPtr ctxt = nullptr;
  std::vector<stream_event>* out = nullptr;
  parse_error err = parse_error::none;
  bool in_stream = false;
  bool ended = false; // the stream's end tag was seen
  int bom_seen = 0;   // bytes of a byte order mark skipped
  std::size_t depth = 0;
  std::shared_ptr<element> stanza;
  std::vector<element*> stack; // open elements of `stanza`
  std::uint64_t fed = 0;       // bytes handed to libxml2 so far
  std::uint64_t in_buffer = 0; // bytes libxml2 has in its buffer
  std::uint64_t mark = 0;      // offset where the pending item began
  std::uint64_t ws = 0;        // stream-level text seen since `mark`
  std::size_t cost = 0;        // approximate heap of `stanza`
  attr_scanner scanner;
};

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

} // namespace

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
  while (len > 0 && err == parse_error::none) {
    auto n = std::min(len, slice_size);
    parse(data, n);
    data += n;
    len -= n;
  }
  return err;
}

void stream_parser::impl::parse(const char* data, std::size_t len) {
  auto ok = scanner.scan(data, len);
  if (ok > 0) {
    // xmlParseChunk keeps a trailing CR back until the next chunk.
    in_buffer = fed + ok - (data[ok - 1] == '\r' ? 1 : 0);
    xmlParseChunk(ctxt, data, static_cast<int>(ok), 0);
    in_buffer = fed += ok;
  }
  if (err == parse_error::none
      && (ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0))
    err = parse_error::not_well_formed;
  if (err == parse_error::none
      && (ok < len || (!ended && pending(fed) > max_bytes)))
    err = parse_error::too_big;
  failed();
}

void stream_parser::impl::on_start(void* ctx, const xmlChar* name,
                                   const xmlChar*, const xmlChar* uri,
                                   int nb_ns, const xmlChar** nss,
                                   int nb_attrs, int, const xmlChar** atts) {
  auto self = static_cast<impl*>(ctx);
  if (self->failed())
    return;
  if (++self->depth > max_depth || nb_attrs + nb_ns > max_attrs) {
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
    ev.header.ns = to_str(uri);
    for (int i = 0; i < nb_ns; ++i)
      if (nss[2 * i] == nullptr)
        ev.header.default_ns = to_str(nss[2 * i + 1]);
    ev.header.attrs = make_attrs(nb_attrs, atts);
    self->out->push_back(std::move(ev));
    self->in_stream = true;
    self->set_mark(end);
    return;
  }
  element e{to_str(name), to_str(uri)};
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
      self->set_mark(end);
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
    // the next stanza's size. Exact when `ch` points into the input.
    auto in = self->ctxt->input;
    if (ch >= in->base && ch + len <= in->end)
      self->set_mark(self->offset(ch + len));
    else
      self->ws += n;
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

bool stream_parser::in_stream() const {
  return impl_->in_stream;
}

} // namespace dja::xml
