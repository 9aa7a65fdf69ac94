#pragma once

// The incremental XML stream parser of a connection: bytes in, stream
// events out. Wraps libxml2's SAX2 push parser. Enforces the XMPP
// restrictions on XML (RFC 6120 §11.1) and the stanza size limit.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/xml.hpp"

namespace dja::xml {

/// Why the parser stopped; each maps to one stream error condition.
enum class parse_error {
  none,
  not_well_formed, ///< <not-well-formed/> (also invalid UTF-8, bad prefix)
  restricted_xml,  ///< DOCTYPE, PI, comment, non-predefined entity ref
  too_big,         ///< <policy-violation/>: stanza over the size limit
  /// The XML declaration names an encoding other than UTF-8 (RFC 6120
  /// §11.6, §4.9.3.22 <unsupported-encoding/>).
  unsupported_encoding,
  /// The XML declaration names an XML version other than 1.0 (RFC 6120
  /// §11.1 allows XML 1.0 only): <unsupported-version/> (§4.9.3.25).
  unsupported_version,
  /// A stream header inside the stream (a first-level child named
  /// stream:stream, e.g. a restart the server did not ask for): RFC 6120
  /// §4.9.3.24 <unsupported-stanza-type/>, at once rather than when
  /// it ends (it never would).
  nested_header,
};

const char* to_condition(parse_error e);

/// The opening tag of a stream (the depth-1 element).
struct stream_header {
  std::string name;       ///< local name, "stream" for XMPP
  std::string ns;         ///< namespace of the element itself
  std::string default_ns; ///< the default namespace it declared ("" if none)
  std::vector<attribute> attrs;
};

/// One thing that happened in the stream, in order.
struct stream_event {
  enum kind_t { open, stanza, close } kind;
  stream_header header; ///< for `open`
  element_ptr elem;     ///< for `stanza` (a complete depth-2 element)
};

class stream_parser {
public:
  /// `max_stanza_bytes`: the largest stanza (and stream header) accepted;
  /// the parser never holds more than about this many bytes of input.
  /// Allocates libxml2's context only when the first byte arrives.
  explicit stream_parser(std::size_t max_stanza_bytes);
  ~stream_parser();
  stream_parser(const stream_parser&) = delete;
  stream_parser& operator=(const stream_parser&) = delete;

  /// Feeds bytes; appends the completed events to `out`. After an error
  /// the parser stays failed until reset().
  parse_error feed(const char* data, std::size_t len,
                   std::vector<stream_event>& out);

  /// Starts over for a new stream on the same connection (stream restart
  /// after SASL or STARTTLS). Keeps the current size limit.
  void reset();

  /// Changes the size limit from the next stanza on (and across reset()):
  /// a stream starts with a small one, a few KiB, so that strangers cost
  /// little, and gets the full one when it is authenticated. The tree
  /// built for a stanza is bounded by a multiple of it too, which also
  /// bounds the number of elements (thousands of empty children).
  void set_max_stanza_size(std::size_t max_stanza_bytes);

  /// The current size limit.
  std::size_t max_stanza_size() const;

  /// True between stream open and stream close.
  bool in_stream() const;

  /// True when hibernate() would release the parser's state: the stream is
  /// open, no stanza is partly received, and only whitespace came since
  /// the last stanza (or the header). Also true while hibernated.
  bool can_hibernate() const;

  /// For an idle connection: frees libxml2's context (12-17 KiB) and
  /// keeps only the stream header's name and namespace declarations (a
  /// few hundred bytes). The next feed() builds a new context, primed
  /// with that header, and reports the same events and errors as if this
  /// had not been called (except that the name dictionary's limit starts
  /// over). Does nothing unless can_hibernate().
  void hibernate();

  /// True between hibernate() and the next feed() of at least one byte.
  bool hibernated() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace dja::xml
