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
  explicit stream_parser(std::size_t max_stanza_bytes);
  ~stream_parser();
  stream_parser(const stream_parser&) = delete;
  stream_parser& operator=(const stream_parser&) = delete;

  /// Feeds bytes; appends the completed events to `out`. After an error
  /// the parser stays failed until reset().
  parse_error feed(const char* data, std::size_t len,
                   std::vector<stream_event>& out);

  /// Starts over for a new stream on the same connection (stream restart
  /// after SASL or STARTTLS).
  void reset();

  /// True between stream open and stream close.
  bool in_stream() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace dja::xml
