#include "common/stream_parser.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

namespace dja::xml {

namespace {

/// Deepest element nesting accepted (the stream header is depth 1);
/// deeper input fails with parse_error::too_big.
constexpr std::size_t max_depth = 256;

/// Most attributes (namespace declarations included) accepted on one
/// element; more fail with parse_error::too_big.
constexpr int max_attrs = 256;

/// The tree built for a stanza may use about this many times the stanza's
/// wire size in memory before the stanza fails with parse_error::too_big
/// (it guards against e.g. a long default namespace copied into thousands
/// of tiny child elements).
constexpr std::size_t tree_factor = 8;

/// Input is handed to libxml2 in slices of at most this many bytes, so that
/// limits are checked while a large chunk is being parsed.
constexpr std::size_t slice_size = 4096;

/// Heap bytes that a std::string of this size owns (beyond SSO).
std::size_t heap_of(std::size_t n) {
  return n > 15 ? n + 1 : 0;
}

std::string to_str(const xmlChar* s) {
  return s != nullptr ? std::string{reinterpret_cast<const char*>(s)}
                      : std::string{};
}

/// With entity substitution off, libxml2 hands every '&' in an attribute
/// value to SAX as "&#38;"; any other '&' cannot occur there.
std::string attr_value(const xmlChar* first, const xmlChar* last) {
  std::string res;
  res.reserve(static_cast<std::size_t>(last - first));
  for (auto i = first; i < last; ++i) {
    res += static_cast<char>(*i);
    if (*i == '&' && last - i >= 5)
      i += 4; // skips "#38;"
  }
  return res;
}

/// Finds a start tag with too many attributes before libxml2 parses it
/// (libxml2 checks attribute uniqueness in quadratic time). Only needs to
/// be exact for input that is otherwise acceptable.
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
          end_ = c;
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
          k_ = c == (end_ == '-' ? '-' : ']') ? std::min(k_ + 1, 2) : 0;
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
  explicit impl(std::size_t max);

  ~impl() {
    if (ctxt != nullptr)
      xmlFreeParserCtxt(ctxt);
  }

  parse_error feed(const char* data, std::size_t len);
  void parse(const char* data, std::size_t len);
  void parse_xml(const char* data, std::size_t len);

  /// Records the first error; `halt` stops libxml2 (only from SAX content
  /// callbacks, where libxml2 expects it, or between chunks).
  void fail(parse_error e, bool halt = true) {
    if (err == parse_error::none)
      err = e;
    if (halt && ctxt->instate != XML_PARSER_EOF)
      xmlStopParser(ctxt);
  }

  /// Stream offset of libxml2's read position (valid inside callbacks).
  std::uint64_t pos() const {
    return in_buffer - static_cast<std::uint64_t>(ctxt->input->end
                                                  - ctxt->input->cur);
  }

  /// Stream offset just past the start tag whose callback is running.
  std::uint64_t pos_after_start_tag() const {
    auto cur = ctxt->input->cur;
    auto avail = ctxt->input->end - cur;
    if (avail >= 1 && cur[0] == '>')
      return pos() + 1;
    if (avail >= 2 && cur[0] == '/' && cur[1] == '>')
      return pos() + 2;
    return pos();
  }

  /// Bytes of the pending top-level item (stanza or header) so far.
  std::uint64_t pending(std::uint64_t at) const {
    auto base = mark + ws;
    return at > base ? at - base : 0;
  }

  /// A top-level item ended at stream offset `at`.
  void set_mark(std::uint64_t at) {
    mark = at;
    ws = 0;
    cost = 0;
  }

  bool charge(std::size_t n) {
    cost += n;
    if (cost > tree_factor * max_bytes) {
      fail(parse_error::too_big);
      return false;
    }
    return true;
  }

  static void on_start(void* ctx, const xmlChar* name, const xmlChar* prefix,
                       const xmlChar* uri, int nb_ns, const xmlChar** nss,
                       int nb_attrs, int nb_defaulted, const xmlChar** atts);
  static void on_end(void* ctx, const xmlChar*, const xmlChar*,
                     const xmlChar*);
  static void on_text(void* ctx, const xmlChar* ch, int len);
  static void on_restricted(void* ctx);
  static void on_error(void* ctx, xmlErrorPtr e);

  std::size_t max_bytes;
  xmlParserCtxtPtr ctxt = nullptr;
  std::vector<stream_event>* out = nullptr;
  parse_error err = parse_error::none;
  bool in_stream = false;
  bool ended = false;          // the stream's end tag was seen
  int bom_seen = 0;            // bytes of a byte order mark skipped
  std::size_t depth = 0;
  std::shared_ptr<element> stanza;
  std::vector<element*> stack;
  std::uint64_t fed = 0;       // bytes handed to libxml2 so far
  std::uint64_t in_buffer = 0; // bytes libxml2 has in its buffer
  std::uint64_t mark = 0;      // offset where the pending item began
  std::uint64_t ws = 0;        // stream-level text seen since `mark`
  std::size_t cost = 0;        // approximate heap of the stanza being built
  attr_scanner scanner;
};

namespace {

void restricted_pi(void* ctx, const xmlChar*, const xmlChar*) {
  stream_parser::impl::on_restricted(ctx);
}

void restricted_comment(void* ctx, const xmlChar*) {
  stream_parser::impl::on_restricted(ctx);
}

void restricted_subset(void* ctx, const xmlChar*, const xmlChar*,
                       const xmlChar*) {
  stream_parser::impl::on_restricted(ctx);
}

// Called for every entity reference except the five predefined ones. Only
// records the error: libxml2 then raises its own (fatal) error, which
// disables further callbacks; feed() stops the parser after the slice.
xmlEntityPtr restricted_entity(void* ctx, const xmlChar*) {
  auto self = static_cast<stream_parser::impl*>(ctx);
  self->fail(parse_error::restricted_xml, false);
  return nullptr;
}

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
    h.processingInstruction = restricted_pi;
    h.comment = restricted_comment;
    h.internalSubset = restricted_subset;
    h.externalSubset = restricted_subset;
    h.getEntity = restricted_entity;
    h.getParameterEntity = restricted_entity;
    h.serror = impl::on_error;
    return h;
  }();
  return &handler;
}

} // namespace

stream_parser::impl::impl(std::size_t max) : max_bytes(max) {
  auto sax = const_cast<xmlSAXHandler*>(sax_handler());
  ctxt = xmlCreatePushParserCtxt(sax, this, nullptr, 0, nullptr);
  if (ctxt == nullptr)
    throw std::bad_alloc{};
  xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
  // XMPP is UTF-8 only: no autodetection, no encoding switch.
  xmlSwitchEncoding(ctxt, XML_CHAR_ENCODING_UTF8);
  // Names and namespace URIs are interned for the life of the stream.
  if (ctxt->dict != nullptr)
    xmlDictSetLimit(ctxt->dict, std::max<std::size_t>(4 * max, 65536));
}

parse_error stream_parser::impl::feed(const char* data, std::size_t len) {
  // A UTF-8 byte order mark may start the stream; libxml2, switched to
  // UTF-8 before it could see one, is not told.
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
  auto n = scanner.scan(data, len);
  parse_xml(data, n);
  if (n < len)
    fail(parse_error::too_big);
}

void stream_parser::impl::parse_xml(const char* data, std::size_t len) {
  if (len == 0 || err != parse_error::none)
    return;
  // xmlParseChunk keeps a trailing CR back until the next chunk.
  in_buffer = fed + len - (data[len - 1] == '\r' ? 1 : 0);
  xmlParseChunk(ctxt, data, static_cast<int>(len), 0);
  fed += len;
  in_buffer = fed;
  if (err == parse_error::none
      && (ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0))
    err = parse_error::not_well_formed;
  if (err == parse_error::none && !ended && pending(fed) > max_bytes)
    err = parse_error::too_big;
  if (err != parse_error::none)
    fail(err);
}

void stream_parser::impl::on_start(void* ctx, const xmlChar* name,
                                   const xmlChar*, const xmlChar* uri,
                                   int nb_ns, const xmlChar** nss,
                                   int nb_attrs, int,
                                   const xmlChar** atts) {
  auto self = static_cast<impl*>(ctx);
  if (self->err != parse_error::none) {
    self->fail(self->err);
    return;
  }
  if (++self->depth > max_depth || nb_attrs + nb_ns > max_attrs) {
    self->fail(parse_error::too_big);
    return;
  }
  std::vector<attribute> attrs;
  attrs.reserve(static_cast<std::size_t>(nb_attrs));
  for (int i = 0; i < nb_attrs; ++i) {
    auto a = atts + 5 * i;
    attribute x;
    if (a[1] != nullptr && xmlStrEqual(a[1], BAD_CAST "xml"))
      x.name = "xml:" + to_str(a[0]);
    else {
      x.name = to_str(a[0]);
      x.ns = to_str(a[2]);
    }
    x.value = attr_value(a[3], a[4]);
    attrs.push_back(std::move(x));
  }
  if (self->depth == 1) {
    auto end = self->pos_after_start_tag();
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
    ev.header.attrs = std::move(attrs);
    self->out->push_back(std::move(ev));
    self->in_stream = true;
    self->set_mark(end);
    return;
  }
  element e{to_str(name), to_str(uri)};
  std::size_t cost = sizeof(element) + sizeof(node) + 16
                     + heap_of(e.name.size()) + heap_of(e.ns.size());
  for (auto& a : attrs)
    cost += sizeof(attribute) + heap_of(a.name.size())
            + heap_of(a.value.size()) + heap_of(a.ns.size());
  if (!self->charge(cost))
    return;
  e.attrs = std::move(attrs);
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
  if (self->err != parse_error::none) {
    self->fail(self->err);
    return;
  }
  auto d = self->depth--;
  if (d == 1) {
    self->in_stream = false;
    self->ended = true;
    self->out->push_back(stream_event{stream_event::close, {}, nullptr});
    self->set_mark(self->pos());
  } else if (d == 2) {
    auto end = self->pos();
    if (self->pending(end) > self->max_bytes) {
      self->fail(parse_error::too_big);
      return;
    }
    self->stack.clear();
    self->out->push_back(
      stream_event{stream_event::stanza, {}, std::move(self->stanza)});
    self->set_mark(end);
  } else {
    self->stack.pop_back();
  }
}

void stream_parser::impl::on_text(void* ctx, const xmlChar* ch, int len) {
  auto self = static_cast<impl*>(ctx);
  if (self->err != parse_error::none) {
    self->fail(self->err);
    return;
  }
  auto n = static_cast<std::size_t>(len);
  if (self->depth <= 1) {
    // Whitespace keepalives (or stray text) between stanzas: not part of
    // the next stanza's size. Exact when `ch` points into the input.
    auto in = self->ctxt->input;
    if (ch >= in->base && ch + len <= in->end)
      self->set_mark(self->in_buffer
                     - static_cast<std::uint64_t>(in->end - (ch + len)));
    else
      self->ws += n;
    return;
  }
  auto parent = self->stack.back();
  bool merge = !parent->children.empty() && !parent->children.back().elem;
  if (!self->charge(n + (merge ? 0 : sizeof(node))))
    return;
  parent->add_text(std::string{reinterpret_cast<const char*>(ch), n});
}

void stream_parser::impl::on_restricted(void* ctx) {
  auto self = static_cast<impl*>(ctx);
  self->fail(self->err != parse_error::none ? self->err
                                            : parse_error::restricted_xml);
}

void stream_parser::impl::on_error(void* ctx, xmlErrorPtr e) {
  // Only records: stopping libxml2 from inside its error reporting is not
  // safe. Errors disable further SAX callbacks or are checked in them.
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
