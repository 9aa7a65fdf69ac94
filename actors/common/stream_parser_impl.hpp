#pragma once

// Private to stream_parser.cpp and stream_parser_prime.cpp: the state of a
// stream parser.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <libxml/parser.h>

#include "common/stream_parser.hpp"

namespace dja::xml {

namespace detail {

/// Most attributes (namespace declarations included) accepted on one
/// element; more fail with parse_error::too_big.
constexpr int max_attrs = 256;

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

} // namespace detail

// Offsets: positions in the input as handed to libxml2 (after a byte order
// mark), plus the priming headers of earlier wake-ups; only differences
// between them matter.
struct stream_parser::impl {
  static constexpr auto none = std::numeric_limits<std::uint64_t>::max();

  explicit impl(std::size_t max);
  ~impl();

  // -- parsing (stream_parser.cpp) ------------------------------------------

  parse_error feed(const char* data, std::size_t len);
  void parse(const char* data, std::size_t len);

  /// True when the input held since the last item exceeds the limit.
  bool over_limit() const;

  /// Creates the libxml2 context (on the first bytes, and after hibernate).
  void open();

  /// Checks the XML declaration at the start of a stream (encoding and
  /// version), as its bytes arrive.
  void check_declaration(const char* data, std::size_t len);

  /// Sets the stanza size limit and what follows from it.
  void set_max(std::size_t max);
  void set_dict_limit();

  /// Records the first error; `halt` stops libxml2 (only from SAX content
  /// callbacks, where libxml2 expects it, or between chunks).
  void fail(parse_error e, bool halt = true) {
    if (err == parse_error::none)
      err = e;
    if (halt && ctxt != nullptr && ctxt->instate != XML_PARSER_EOF)
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
    return at > mark ? at - mark : 0;
  }

  /// A top-level item or text between them ended at stream offset `at`.
  void set_mark(std::uint64_t at) {
    mark = at;
    cost = 0;
  }

  /// The stream header or a stanza ended at stream offset `at`.
  void item_ended(std::uint64_t at) {
    set_mark(at);
    item_end = at;
    lead = none;
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

  // -- hibernation (stream_parser_prime.cpp) --------------------------------

  /// Keeps what a new parser needs to continue after the stream header:
  /// its qualified name and namespace declarations, as a start tag.
  void remember_header(const xmlChar* name, const xmlChar* prefix, int nb_ns,
                       const xmlChar** nss);

  /// True when only whitespace came after the last complete item.
  bool at_rest() const {
    return in_stream && lead == none;
  }

  bool can_hibernate() const;
  void hibernate();

  /// Feeds the remembered header, and as much whitespace as the old
  /// context held, to a new libxml2 context, silently.
  void prime();

  // -- state ----------------------------------------------------------------

  std::size_t max_bytes;
  std::size_t tree_limit;
  xmlParserCtxtPtr ctxt = nullptr; // null before the first byte and while
                                   // hibernated
  std::vector<stream_event>* out = nullptr;
  parse_error err = parse_error::none;
  bool in_stream = false;
  bool ended = false;   // the stream's end tag was seen
  bool priming = false; // libxml2 is parsing the remembered header
  bool primed = false;  // ... and has reported it
  int bom_seen = 0;     // bytes of a byte order mark skipped
  std::size_t depth = 0;
  std::shared_ptr<element> stanza;
  std::vector<element*> stack; // open elements of `stanza`
  std::uint64_t fed = 0;       // bytes handed to libxml2 so far
  std::uint64_t in_buffer = 0; // bytes libxml2 has in its buffer
  std::uint64_t mark = 0;      // offset where the pending item began
  std::uint64_t item_end = 0;  // offset where the last item ended
  std::uint64_t lead = none;   // offset of the first byte other than
                               // whitespace after `item_end`, if any
  std::size_t cost = 0;        // approximate heap of `stanza`
  detail::attr_scanner scanner;
  std::string header_tag; // the stream header's start tag, for prime()
  std::string decl;           // the start of the stream, until checked
  bool decl_checked = false;  // the XML declaration (if any) was checked
  std::uint64_t held = 0; // whitespace bytes libxml2 held at hibernate()
};

} // namespace dja::xml
