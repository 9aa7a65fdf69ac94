#pragma once

// The XML stream pump: the byte path every XMPP stream shares (c2s, s2s
// incoming, s2s outgoing). It owns, for one socket of a CAF broker:
//   - TLS through OpenSSL memory BIOs (stream/tls.hpp), so STARTTLS
//     (RFC 6120 §5) upgrades the live socket and TLS errors are handled
//     once for every kind of stream;
//   - the libxml2 push parser (common/stream_parser.hpp) with its stanza
//     size limit (RFC 6120 §13.12: limits.c2s/s2s_stanza_size), and its
//     hibernation: a stream silent for a moment drops its parser and
//     builds a new one primed with the stream header when bytes arrive;
//   - events parsed but not yet handled (a stream may pause between
//     events while it waits for an asynchronous answer, order is kept);
//   - writing with a bound on what a peer that does not read may cost
//     (limits.write_buffer): CAF reports what the kernel took
//     (data_transferred_msg), so the pump knows what still waits in
//     CAF's buffers; past the bound the connection is cut after what the
//     kernel already has, and the stanzas whose bytes it had not taken
//     are handed back to the stream above (take_unwritten());
//   - reading with a token bucket (limits.c2s_rate / s2s_rate and
//     rate_burst): over its rate a peer is read later, never dropped;
//   - the orderly close: last words (a stream error or
//     </stream:stream>), TLS close_notify, close after the flush.
// The stream above it (its protocol: headers, features, SASL, dialback,
// routing) gets the callbacks of `stream::events`.
//
// HTTP and WebSocket (the `http` listener, docs/web.md) plug in between
// TLS and the parser: start_http() sends the bytes to an HTTP request
// parser (web/http.hpp) and each request to events::on_http_request();
// after a WebSocket upgrade, start_websocket() makes every text message
// (RFC 6455 frames, web/websocket.hpp) one stanza for the parser, with
// RFC 7395's <open/> and <close/> reported as the stream's header and
// end, and frames write() output the same way (web::to_framing): the c2s
// stream above stays as it is.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/atom.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "common/stream_parser.hpp"
#include "stream/tls.hpp"
#include "web/http.hpp"

namespace dja::web {
class ws_codec;
} // namespace dja::web

namespace dja::stream {

// The owner's behaviour hands these to the pump: dja::hibernate_atom
// (common/messages.hpp) -> on_hibernate_timer(), read_atom ->
// on_read_timer(), new_data_msg -> on_data(), data_transferred_msg ->
// on_written().

/// pump -> its own broker: the rate shaper's pause is over, read again.
using read_atom = caf::atom_constant<caf::atom("pumpread")>;

/// What a pump tells the stream above it. Callbacks run inside the
/// pump's calls (on_data(), write()); after on_stream_lost() nothing
/// more is called.
class events {
public:
  /// The peer's stream header (RFC 6120 §4.7).
  virtual void on_stream_open(const xml::stream_header& h) = 0;
  /// A complete first-level element.
  virtual void on_stream_stanza(const xml::element_ptr& e) = 0;
  /// The peer's </stream:stream> (RFC 6120 §4.4).
  virtual void on_stream_close() = 0;
  /// Bad XML or a stanza over the size limit: the stream answers with
  /// the stream error `condition` (RFC 6120 §4.9.3).
  virtual void on_stream_bad_xml(const char* condition) = 0;
  /// The connection is gone without a stream error: a TLS error, or a
  /// peer that does not read (cut after what the kernel had taken; the
  /// stanzas it had not are in take_unwritten()). `why` is for the log;
  /// `overflow` tells the second case.
  virtual void on_stream_lost(const std::string& why, bool overflow) = 0;
  /// The TLS handshake just completed.
  virtual void on_tls_established() {}
  /// An HTTP request (after start_http()): answer it with http_write(),
  /// then http_next() for the next one, or close().
  virtual void on_http_request(web::request& req) {}

protected:
  ~events() = default;
};

/// The bounds of one pump (from `[limits]`).
struct bounds {
  std::size_t stanza_size = 256 * 1024;
  std::size_t write_buffer = 0; ///< 0: unbounded
  std::size_t rate = 0;         ///< bytes/s; 0: unbounded
  std::size_t burst = 0;        ///< bytes above the rate at once
};

class pump {
public:
  pump(caf::io::broker* self, events& up, const bounds& b);
  ~pump();
  pump(const pump&) = delete;
  pump& operator=(const pump&) = delete;

  /// Starts reading `hdl` (at most 4 KiB per new_data_msg).
  void attach(caf::io::connection_handle hdl);
  bool attached() const { return attached_; }
  caf::io::connection_handle handle() const { return hdl_; }

  /// Bytes from the socket (a new_data_msg).
  void on_data(const char* data, std::size_t len);
  /// Decrypted bytes (or a transport's payload): into the parser.
  void on_plain(const char* data, std::size_t len);
  /// The hibernation timer (hibernate_atom).
  void on_hibernate_timer();
  /// The rate shaper's timer (read_atom).
  void on_read_timer();
  /// The socket was closed by the peer (connection_closed_msg).
  void on_socket_closed();

  /// Writes `text` (encrypted once TLS runs) and flushes. With `keep`,
  /// the stanza `text` serializes is held until the kernel has taken its
  /// last byte, so that a cut (limits.write_buffer) can hand it back.
  /// A write that finds more than limits.write_buffer bytes still
  /// waiting from earlier writes cuts the connection instead (one stanza
  /// larger than the bound still goes out to a peer that reads).
  /// `stanza`: a stanza (counted by XEP-0198 once keep_until_acked(),
  /// then held until acknowledged even when `keep` is null).
  void write(std::string_view text, xml::element_ptr keep = nullptr,
             bool stanza = false);
  /// CAF wrote `n` more bytes to the socket (data_transferred_msg).
  void on_written(uint64_t n);
  /// Bytes handed to CAF since attach(), and those the kernel took: a
  /// write is on the wire once written_total() reaches the
  /// queued_total() it left.
  uint64_t queued_total() const { return queued_; }
  uint64_t written_total() const { return written_; }
  /// After a cut: the stanzas written with `keep` whose bytes the kernel
  /// had not taken, oldest first (emptied by the call).
  std::vector<xml::element_ptr> take_unwritten();

  /// XEP-0198 stream management from now on: every stanza written is
  /// held (as with `keep`, a null one when it was written without) until
  /// ack() releases it, not when the kernel took it; take_unwritten()
  /// then gives the unacknowledged ones. What was kept before is dropped
  /// (the client counts from <enabled/> on).
  void keep_until_acked();
  bool acked_mode() const { return acked_mode_; }
  /// The client acknowledged the `n` oldest stanzas held.
  void ack(std::size_t n);
  /// Stanzas held: written since keep_until_acked() and not acknowledged.
  std::size_t unacked() const { return kept_.size() - kept_head_; }

  /// TLS from now on, server side (STARTTLS after <proceed/>, or direct
  /// TLS); events already parsed are dropped (RFC 6120 §5.4.3.3: nothing
  /// sent before the handshake counts) and the parser starts over.
  void start_tls(SSL_CTX* ctx);
  /// The client side (outgoing s2s): sends the ClientHello at once.
  void start_tls_client(SSL_CTX* ctx, const std::string& server_name);
  tls::session* tls() const { return tls_.get(); }

  /// A stream restart (RFC 6120 §4.3.3): a fresh parser, events parsed
  /// after the old stream's last one are dropped.
  void restart();

  /// A new stanza size bound (e.g. after authentication: strangers get
  /// limits.preauth_stanza_size, RFC 6120 §13.12), for the parser of now
  /// and every later one.
  void set_stanza_size(std::size_t n);
  /// Stops handling events until resume() (an asynchronous step).
  void pause() { busy_ = true; }
  /// Goes on with the events that waited.
  void resume();

  /// Writes `last_words` (may be empty), then TLS close_notify and the
  /// close after the flush. Idempotent; nothing is read or written after.
  void close(std::string_view last_words = {});
  bool closed() const { return closed_; }

  /// HTTP from now on (the `http` listener): bytes, after TLS, go to an
  /// HTTP/1.1 request parser with these limits.
  void start_http(std::size_t max_header, std::size_t max_body);
  bool http() const { return http_ != nullptr; }
  /// Writes raw bytes (an HTTP response), encrypted if TLS runs.
  void http_write(std::string_view bytes);
  /// The answer to the last request is out: parse the next one.
  void http_next();
  /// After a 101 answer: RFC 6455 frames from now on, each text message
  /// (at most `max_message` bytes) one element of an RFC 7395 stream.
  void start_websocket(std::size_t max_message);
  bool websocket() const { return ws_ != nullptr; }
  /// A WebSocket ping (keep-alive: the peer's pong counts as input).
  void ws_ping();

  /// When bytes last came from the peer.
  std::chrono::steady_clock::time_point last_input() const {
    return last_input_;
  }

private:
  void process();
  void arm_hibernation();
  void shape(std::size_t len);
  void lost(const std::string& why, bool overflow);
  void cut();
  /// Hands TLS output (if any) or `text` to CAF, counts it, flushes.
  void push(std::string_view text);
  /// Parses the HTTP requests buffered (start_http()).
  void http_drain();
  /// Bytes of WebSocket frames.
  void ws_feed(const char* data, std::size_t len);
  /// One text message: one element of the stream.
  void ws_message(std::string_view text);
  /// The parser in WebSocket mode sits inside a stream header of ours.
  void ws_prime();
  /// Pushes the frames the codec queued.
  void ws_flush();

  /// A stanza written with `keep`: its last byte is byte `end` of the
  /// connection's output.
  struct kept {
    uint64_t end;
    xml::element_ptr stanza;
  };

  caf::io::broker* self_;
  events& up_;
  bounds bounds_;
  caf::io::connection_handle hdl_;
  std::unique_ptr<tls::session> tls_;
  std::unique_ptr<xml::stream_parser> parser_;
  /// Parsed, not yet handled (from next_ on).
  std::vector<xml::stream_event> backlog_;
  std::size_t next_ = 0;
  std::chrono::steady_clock::time_point last_input_;
  /// Output accounting (see queued_total()); kept_ from kept_head_ on
  /// are the stanzas not yet wholly taken by the kernel (a vector, freed
  /// when drained: an idle stream holds no storage for it).
  uint64_t queued_ = 0;
  uint64_t written_ = 0;
  std::vector<kept> kept_;
  std::size_t kept_head_ = 0;
  /// Rate shaper: bytes that may still be read now, and when it was
  /// last refilled.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_;
  uint64_t data_seq_ = 0; ///< bumped by every read
  uint64_t seq_at_timer_ = 0;
  bool attached_ = false;
  bool closed_ = false;
  bool busy_ = false;
  bool hibernate_timer_ = false;
  bool reading_paused_ = false;
  bool tls_reported_ = false;
  bool acked_mode_ = false; ///< keep_until_acked()
  /// HTTP (start_http()): the parser, bytes not parsed yet, a request
  /// being answered.
  std::unique_ptr<web::request_parser> http_;
  std::string http_in_;
  bool http_busy_ = false;
  bool http_draining_ = false;
  std::size_t http_max_ = 0;
  /// WebSocket (start_websocket()).
  std::unique_ptr<web::ws_codec> ws_;
};

} // namespace dja::stream
