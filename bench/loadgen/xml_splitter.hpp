// A minimal incremental XML splitter for an XMPP stream: it finds the stream
// header, the top-level elements (stanzas, features, SASL answers, stream
// errors) and the stream close, across arbitrary read boundaries. It does not
// validate or build a tree: a load generator only needs stanza boundaries and
// a few attributes and texts, which the helpers below pull out of the raw
// text of one stanza.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lg {

class xml_splitter {
public:
  enum class event { need_more, stream_open, stanza, stream_close, error };

  /// Forget everything (stream restart after SASL success).
  void reset();

  /// Append bytes read from the socket. Invalidates previous views.
  void feed(const char* data, size_t n);

  /// The next event found in the bytes fed so far. After `stanza`,
  /// stanza() and head() are valid until the next feed().
  event next();

  std::string_view stanza() const { return stanza_; }
  /// The start tag of the last stanza or stream header: "<name ...>".
  std::string_view head() const { return head_; }
  const char* error() const { return error_; }

private:
  static constexpr size_t npos = std::string::npos;
  static constexpr size_t max_stanza = 4u << 20;

  event fail(const char* why);
  size_t tag_end(size_t from) const; // index of the closing '>' or npos

  std::string buf_;
  size_t pos_ = 0;        // next byte to scan
  size_t start_ = npos;   // start of the top-level element being read
  size_t head_end_ = 0;   // one past the '>' of its start tag
  size_t consumed_ = 0;   // bytes before this are no longer needed
  int depth_ = 0;         // 0 before the header, 1 inside the stream
  std::string_view stanza_, head_;
  const char* error_ = nullptr;
};

// --- helpers on the raw text of one element -----------------------------------

/// Local name of a start tag ("<stream:features ...>" -> "features").
std::string_view local_name(std::string_view head);

/// Raw value of attribute `name` in a start tag, or "" if absent.
std::string_view attr(std::string_view head, std::string_view name);

/// Text directly inside the first child <name>...</name> (up to the next
/// tag), or "" if absent. Good for <body>, <jid>; entities are not decoded.
std::string_view child_text(std::string_view element, std::string_view name);

/// Local name of the first child element of `element` ("" if none).
std::string_view first_child(std::string_view element);

inline bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

} // namespace lg
