#pragma once

// The line protocol of the control channel, between `djabberd-actors ctl`
// and a running server over its Unix socket (control.hpp):
//
//   request:  COMMAND [ARG ...] LF      one line of words separated by
//                                       spaces, at most max_request bytes
//                                       and max_words words, no control
//                                       characters
//   response: ok|error LF               the status line
//             TEXT ...                  what the command says, lines
//                                       (at most max_response bytes)
//
// One request per connection: the server answers and closes, so the end
// of the text is the end of the stream. Every read is bounded in size
// and time on both sides.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dja::control {

/// Bounds of a request line (with its LF) and of its words.
constexpr size_t max_request = 1024;
constexpr size_t max_words = 64; ///< a broadcast's text is words too
/// Bound of a response (status line and text): room for `metrics` on a
/// server of many vhosts (a histogram per plugin and hook, 26 lines each).
constexpr size_t max_response = 4 * 1024 * 1024;
/// How long the server waits for a request line.
constexpr std::chrono::seconds request_timeout{5};

/// A request: the command and its arguments.
struct request {
  std::string command;
  std::vector<std::string> args;
};

/// A parsed request line, or why it is not one.
struct parsed_request {
  std::optional<request> req;
  std::string error; ///< set when `req` is not
};

/// Parses one request line (without its LF; a trailing CR is allowed).
parsed_request parse_request(std::string_view line);

/// The request line of `words` (the client's side), with its LF; "" when
/// a word is empty, has a space or a control character, or the line
/// would pass the bounds.
std::string format_request(const std::vector<std::string>& words);

/// Collects the bytes of one request line, bounded by max_request.
class line_reader {
public:
  enum class status {
    more,     ///< no LF yet
    complete, ///< line() holds the line, without its LF
    too_long, ///< max_request bytes without a LF
  };

  /// Adds bytes read from the socket (what follows the LF is ignored:
  /// one request per connection).
  status feed(std::string_view bytes);

  const std::string& line() const {
    return line_;
  }

private:
  std::string line_;
  bool complete_ = false;
};

/// A response: the status and the text (lines, each ending in LF).
struct response {
  bool ok = true;
  std::string text;

  static response error(std::string text) {
    return {false, std::move(text)};
  }
};

/// The bytes of `r`: the status line, then its text with a final LF;
/// cut at max_response with a last line saying so.
std::string encode(const response& r);

/// The response in `bytes` (everything the server sent); nullopt when
/// the status line is not `ok` or `error`.
std::optional<response> decode(std::string_view bytes);

} // namespace dja::control
