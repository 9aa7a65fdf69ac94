#pragma once

// RFC 6455 framing for the `http` listener's WebSocket streams, on wslay
// (Debian libwslay-dev), which does no I/O: feed() takes the bytes read
// (after TLS), the frames to send are collected by take_output() and
// written by the pump. wslay reassembles fragmented messages, answers
// pings with pongs, answers a close frame with one, checks masking,
// UTF-8 of text messages and the message size bound.
//
// And RFC 7395's XMPP framing of what the c2s stream above writes:
// to_framing() turns the pump's output (a stream header, features,
// stanzas, a stream error, </stream:stream>) into one WebSocket message
// per element.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct wslay_event_context;

namespace dja::web {

class ws_codec {
public:
  /// `max_message`: a larger message closes the WebSocket with 1009.
  explicit ws_codec(std::size_t max_message);
  ~ws_codec();
  ws_codec(const ws_codec&) = delete;
  ws_codec& operator=(const ws_codec&) = delete;

  enum class kind { text, binary, close };
  struct message {
    kind k;
    std::string data;
    uint16_t close_code = 0;
  };

  /// Bytes from the peer: the complete messages they finish, in order
  /// (pings and pongs are answered inside). False: a protocol error
  /// (wslay queued a close frame: take_output(), then close the socket).
  bool feed(const char* data, std::size_t len, std::vector<message>& out);
  /// One text message.
  void send_text(std::string_view text);
  /// A ping (keep-alive).
  void send_ping();
  /// A close frame (`code`, a short reason).
  void send_close(uint16_t code, std::string_view why = {});
  /// The frames queued so far, as bytes.
  void take_output(std::string& out);
  /// The peer's close frame arrived (ours answered it).
  bool close_received() const;
  bool close_sent() const;

private:
  wslay_event_context* ctx_ = nullptr;
  const char* in_ = nullptr;
  std::size_t in_len_ = 0;
  std::string out_;
  std::vector<message>* msgs_ = nullptr;

  friend struct ws_callbacks;
};

/// RFC 7395 §3.3: what the c2s stream writes, as WebSocket messages:
///   `<?xml ...?><stream:stream ... id= from= version=>` -> `<open
///     xmlns='urn:ietf:params:xml:ns:xmpp-framing' .../>`;
///   `</stream:stream>` -> `<close xmlns='...xmpp-framing'/>` and
///     `closing` set;
///   `<stream:features>`, `<stream:error>` -> the same with
///     xmlns:stream declared (a message is a document of its own);
///   anything else (one element, the stream's only kind of write) as is.
std::vector<std::string> to_framing(std::string_view text, bool& closing);

/// The framing namespace.
inline constexpr const char* ns_framing = "urn:ietf:params:xml:ns:xmpp-framing";

} // namespace dja::web
