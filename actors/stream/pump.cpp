// The XML stream pump (see pump.hpp): TLS, parser and its hibernation,
// the event backlog, bounded writes, the read shaper and the close. The
// stanzas held for a hand-back are also XEP-0198's unacknowledged queue
// (keep_until_acked(), ack()): one queue, released by the kernel's
// progress or by the client's acks.

#include "stream/pump.hpp"

#include <sys/socket.h>
#include <netinet/in.h>

#include <algorithm>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "web/websocket.hpp"

namespace dja::stream {

namespace {

/// How long a stream must stay silent before its parser is dropped.
constexpr auto hibernate_after = std::chrono::seconds(2);

/// The most a single new_data_msg carries.
constexpr std::size_t read_chunk = 4096;

} // namespace

pump::pump(caf::io::broker* self, events& up, const bounds& b)
  : self_(self), up_(up), bounds_(b) {
  parser_ = std::make_unique<xml::stream_parser>(b.stanza_size);
  last_input_ = std::chrono::steady_clock::now();
  refilled_ = last_input_;
  tokens_ = static_cast<double>(b.burst);
}

pump::~pump() = default;

void pump::attach(caf::io::connection_handle hdl) {
  hdl_ = hdl;
  attached_ = true;
  self_->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk));
  // CAF reports every write to the socket (data_transferred_msg): what
  // it still holds is queued_ - written_ (its own buffers are not
  // visible: a flush moves wr_buf into them).
  self_->ack_writes(hdl, true);
}

void pump::arm_hibernation() {
  ++data_seq_;
  if (hibernate_timer_ || parser_->hibernated())
    return;
  hibernate_timer_ = true;
  seq_at_timer_ = data_seq_;
  self_->delayed_send(self_, hibernate_after, hibernate_atom::value);
}

void pump::on_hibernate_timer() {
  hibernate_timer_ = false;
  if (closed_)
    return;
  if (data_seq_ == seq_at_timer_ && !busy_ && next_ == backlog_.size()
      && parser_->can_hibernate()) {
    parser_->hibernate();
    // Idle: the memory BIOs keep the capacity of the largest chunk they
    // held (tls::session::release_buffers).
    if (tls_)
      tls_->release_buffers();
    return;
  }
  if (!parser_->hibernated())
    arm_hibernation();
}

void pump::shape(std::size_t len) {
  if (bounds_.rate == 0)
    return;
  // A token bucket: `rate` bytes/s, at most `burst` saved up. Over it,
  // the socket is not read until the bucket is back to zero, so a fast
  // sender is slowed by TCP flow control and loses nothing.
  auto now = std::chrono::steady_clock::now();
  auto rate = static_cast<double>(bounds_.rate);
  std::chrono::duration<double> dt = now - refilled_;
  refilled_ = now;
  tokens_ = std::min(static_cast<double>(bounds_.burst),
                     tokens_ + dt.count() * rate);
  tokens_ -= static_cast<double>(len);
  if (tokens_ >= 0 || reading_paused_)
    return;
  reading_paused_ = true;
  self_->halt(hdl_);
  auto wait = std::chrono::duration<double>(-tokens_ / rate);
  self_->delayed_send(
    self_, std::chrono::duration_cast<std::chrono::milliseconds>(wait)
             + std::chrono::milliseconds(1),
    read_atom::value);
}

void pump::on_read_timer() {
  reading_paused_ = false;
  if (attached_ && !closed_)
    self_->trigger(hdl_);
}

void pump::on_data(const char* data, std::size_t len) {
  if (closed_)
    return;
  last_input_ = std::chrono::steady_clock::now();
  arm_hibernation();
  shape(len);
  if (!tls_) {
    on_plain(data, len);
    return;
  }
  std::string plain;
  auto ok = tls_->feed(data, len, plain);
  push({}); // handshake records, alerts
  if (!ok) {
    lost("TLS error: " + tls_->error(), false);
    return;
  }
  if (!tls_reported_ && tls_->handshake_done()) {
    tls_reported_ = true;
    up_.on_tls_established();
    if (closed_)
      return;
  }
  if (!plain.empty())
    on_plain(plain.data(), plain.size());
}

void pump::on_plain(const char* data, std::size_t len) {
  if (closed_)
    return;
  if (ws_) {
    ws_feed(data, len);
    return;
  }
  if (http_) {
    http_in_.append(data, len);
    http_drain();
    return;
  }
  auto err = parser_->feed(data, len, backlog_);
  process();
  if (err != xml::parse_error::none && !closed_)
    up_.on_stream_bad_xml(xml::to_condition(err));
}

void pump::process() {
  while (!busy_ && !closed_ && next_ < backlog_.size()) {
    auto ev = std::move(backlog_[next_++]);
    if (ws_ && ev.kind == xml::stream_event::stanza
        && ev.elem->ns == web::ns_framing) {
      // RFC 7395 §3.3: <open/> and <close/> are the stream's header and
      // end; the stream above sees them as such.
      if (ev.elem->name == "open") {
        xml::stream_header h;
        h.name = "stream";
        h.ns = ns::stream;
        h.default_ns = ns::client;
        for (auto& a : ev.elem->attrs)
          if (a.name != "xmlns")
            h.attrs.push_back(a);
        up_.on_stream_open(h);
        continue;
      }
      if (ev.elem->name == "close") {
        up_.on_stream_close();
        continue;
      }
    }
    switch (ev.kind) {
      case xml::stream_event::open:
        up_.on_stream_open(ev.header);
        break;
      case xml::stream_event::stanza:
        up_.on_stream_stanza(ev.elem);
        break;
      case xml::stream_event::close:
        up_.on_stream_close();
        break;
    }
  }
  if (next_ == backlog_.size() || closed_) {
    // Free the vector: an idle stream keeps no event storage.
    std::vector<xml::stream_event>{}.swap(backlog_);
    next_ = 0;
  }
}

void pump::resume() {
  busy_ = false;
  process();
}

void pump::restart() {
  parser_->reset();
  backlog_.clear();
  next_ = 0;
  if (ws_)
    ws_prime();
}

void pump::set_stanza_size(std::size_t n) {
  bounds_.stanza_size = n;
  parser_->set_max_stanza_size(n);
}

void pump::start_tls(SSL_CTX* ctx) {
  tls_ = std::make_unique<tls::session>(ctx);
  restart();
}

void pump::start_tls_client(SSL_CTX* ctx, const std::string& server_name) {
  tls_ = std::make_unique<tls::session>(ctx, server_name);
  restart();
  if (attached_)
    push({});
}

void pump::push(std::string_view text) {
  auto& buf = self_->wr_buf(hdl_);
  auto before = buf.size();
  if (tls_) {
    if (!text.empty())
      tls_->write(text);
    tls_->take_output(buf);
  } else {
    buf.insert(buf.end(), text.begin(), text.end());
  }
  if (buf.size() == before)
    return;
  queued_ += buf.size() - before;
  self_->flush(hdl_);
}

void pump::write(std::string_view text, xml::element_ptr keep,
                 bool stanza) {
  if (closed_ || !attached_)
    return;
  std::string framed;
  if (ws_) {
    // One message per element (RFC 7395 §3.3.3), the stream's header
    // and end as <open/> and <close/>, then the close frame.
    bool closing = false;
    for (auto& m : web::to_framing(text, closing))
      ws_->send_text(m);
    if (closing)
      ws_->send_close(1000);
    ws_->take_output(framed);
    text = framed;
  }
  bool record = keep != nullptr || (stanza && acked_mode_);
  // What earlier writes left in CAF's buffers: it only grows while the
  // peer does not read (the kernel's own send buffer is full).
  auto waiting = queued_ - written_;
  if (bounds_.write_buffer != 0 && waiting > bounds_.write_buffer) {
    if (record)
      kept_.push_back({UINT64_MAX, std::move(keep)});
    lost("write buffer over " + std::to_string(bounds_.write_buffer)
           + " bytes (the peer does not read)",
         true);
    return;
  }
  push(text);
  if (record)
    kept_.push_back({queued_, std::move(keep)});
}

void pump::on_written(uint64_t n) {
  written_ += n;
  if (acked_mode_)
    return; // held until acknowledged (ack())
  while (kept_head_ < kept_.size() && kept_[kept_head_].end <= written_)
    kept_[kept_head_++].stanza.reset();
  if (kept_head_ == kept_.size() && !kept_.empty()) {
    std::vector<kept>{}.swap(kept_);
    kept_head_ = 0;
  }
}

void pump::keep_until_acked() {
  acked_mode_ = true;
  std::vector<kept>{}.swap(kept_);
  kept_head_ = 0;
}

void pump::ack(std::size_t n) {
  n = std::min(n, unacked());
  for (auto i = kept_head_; i < kept_head_ + n; ++i)
    kept_[i].stanza.reset();
  kept_head_ += n;
  if (kept_head_ == kept_.size()) {
    // Drained: an idle stream holds no storage for it.
    std::vector<kept>{}.swap(kept_);
    kept_head_ = 0;
  } else if (kept_head_ >= 256 && kept_head_ * 2 >= kept_.size()) {
    kept_.erase(kept_.begin(), kept_.begin() + kept_head_);
    kept_head_ = 0;
  }
}

std::vector<xml::element_ptr> pump::take_unwritten() {
  std::vector<xml::element_ptr> out;
  for (auto i = kept_head_; i < kept_.size(); ++i)
    out.push_back(std::move(kept_[i].stanza));
  std::vector<kept>{}.swap(kept_);
  kept_head_ = 0;
  return out;
}

void pump::close(std::string_view last_words) {
  if (closed_)
    return;
  if (!last_words.empty())
    write(last_words);
  if (closed_) // the last words overflowed the buffer
    return;
  if (ws_ && attached_ && !ws_->close_sent()) {
    ws_->send_close(1000);
    ws_flush();
  }
  closed_ = true;
  if (!attached_)
    return;
  attached_ = false;
  if (tls_) {
    tls_->shutdown();
    push({});
  }
  // CAF closes after the pending bytes are written.
  self_->close(hdl_);
}

void pump::start_http(std::size_t max_header, std::size_t max_body) {
  http_ = std::make_unique<web::request_parser>(max_header, max_body);
  http_max_ = max_header + max_body;
}

void pump::http_write(std::string_view bytes) {
  if (closed_ || !attached_)
    return;
  push(bytes);
}

void pump::http_next() {
  http_busy_ = false;
  if (!http_draining_)
    http_drain();
}

void pump::http_drain() {
  http_draining_ = true;
  while (!http_busy_ && !closed_ && !ws_ && !http_in_.empty()) {
    std::size_t used = 0;
    auto st = http_->feed(http_in_.data(), http_in_.size(), used);
    http_in_.erase(0, used);
    if (st == web::request_parser::status::more)
      break;
    if (st == web::request_parser::status::error) {
      auto r = web::response::text(http_->error_status(),
                                   http_->error_text() + "\n");
      push(web::serialize(r, false));
      http_draining_ = false;
      lost("HTTP: " + http_->error_text(), false);
      return;
    }
    http_busy_ = true;
    auto req = http_->take();
    up_.on_http_request(req);
  }
  http_draining_ = false;
  if (ws_ && !closed_ && !http_in_.empty()) {
    // Frames that came right after the upgrade request.
    std::string rest;
    rest.swap(http_in_);
    ws_feed(rest.data(), rest.size());
    return;
  }
  // A client that sends while its request is being answered: at most one
  // more request's worth is kept, then it is read later (TCP pushes back).
  if (!closed_ && http_in_.size() > http_max_)
    lost("HTTP: pipelined requests over " + std::to_string(http_max_)
           + " bytes",
         false);
}

void pump::start_websocket(std::size_t max_message) {
  ws_ = std::make_unique<web::ws_codec>(max_message);
  http_busy_ = true; // no more HTTP on this connection
  ws_prime();
}

void pump::ws_prime() {
  // The stream's header is implicit (RFC 7395 §3.3.2): the parser gets
  // ours, and every message is one element inside it.
  static constexpr std::string_view root
    = "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>";
  auto before = backlog_.size();
  parser_->feed(root.data(), root.size(), backlog_);
  backlog_.resize(before); // its open event
}

void pump::ws_flush() {
  std::string out;
  ws_->take_output(out);
  if (!out.empty())
    push(out);
}

void pump::ws_ping() {
  if (!ws_ || closed_ || !attached_)
    return;
  ws_->send_ping();
  ws_flush();
}

void pump::ws_feed(const char* data, std::size_t len) {
  std::vector<web::ws_codec::message> msgs;
  bool ok = ws_->feed(data, len, msgs);
  ws_flush(); // pongs, the answer to a close
  for (auto& m : msgs) {
    if (closed_)
      return;
    switch (m.k) {
      case web::ws_codec::kind::text:
        ws_message(m.data);
        break;
      case web::ws_codec::kind::binary:
        // RFC 7395 §3.2: text frames only.
        up_.on_stream_bad_xml("bad-format");
        return;
      case web::ws_codec::kind::close:
        // The peer closed the WebSocket without <close/>: the stream is
        // gone, as with TCP's FIN (wslay answered the close frame).
        lost("WebSocket closed by the peer (" + std::to_string(m.close_code)
               + ")",
             false);
        return;
    }
  }
  if (!ok && !closed_)
    lost("WebSocket protocol error or a message over the size bound",
         false);
}

void pump::ws_message(std::string_view text) {
  // RFC 7395 §3.3.3: each message is a complete XML document of one
  // element; a leading XML declaration is tolerated.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n'
                           || text.front() == '\r' || text.front() == '\t'))
    text.remove_prefix(1);
  if (text.substr(0, 5) == "<?xml") {
    auto end = text.find("?>");
    if (end != std::string_view::npos)
      text.remove_prefix(end + 2);
  }
  if (text.empty())
    return; // whitespace (a keep-alive of some clients)
  if (text.size() > bounds_.stanza_size) {
    // The parser would say the same; this way nothing of it is parsed.
    up_.on_stream_bad_xml("policy-violation");
    return;
  }
  auto before = backlog_.size();
  auto err = parser_->feed(text.data(), text.size(), backlog_);
  if (err == xml::parse_error::none
      && (backlog_.size() != before + 1 || !parser_->can_hibernate())) {
    // Not exactly one complete element: part of one, or several.
    backlog_.resize(before);
    up_.on_stream_bad_xml("bad-format");
    return;
  }
  process();
  if (err != xml::parse_error::none && !closed_)
    up_.on_stream_bad_xml(xml::to_condition(err));
}

void pump::on_socket_closed() {
  closed_ = true;
  attached_ = false;
}

void pump::lost(const std::string& why, bool overflow) {
  if (closed_)
    return;
  if (overflow) {
    cut();
  } else {
    if (tls_) {
      tls_->shutdown();
      push({});
    }
    closed_ = true;
    attached_ = false;
    self_->close(hdl_);
  }
  up_.on_stream_lost(why, overflow);
}

void pump::cut() {
  closed_ = true;
  attached_ = false;
  // Bytes still in wr_buf never reached CAF's write in progress: drop
  // them (their stanzas are in kept_, handed back). The write in
  // progress ends at a stanza boundary, but the kernel may have taken
  // only part of it, so no stream error can follow it in the stream:
  // the peer gets what the kernel has, then FIN, as with Prosody's "send
  // buffer exceeded".
  self_->wr_buf(hdl_).clear();
  // CAF 0.17's default multiplexer names a connection by its socket; make
  // sure it is ours (a connected TCP socket to the same peer port), then
  // shut its sending side: the kernel still delivers what it holds (so
  // the count of what was written stays true) and then FIN, while CAF's
  // write in progress fails at once (EPIPE) and frees its buffers instead
  // of waiting for a peer that does not read.
  auto fd = static_cast<int>(hdl_.id());
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (fd >= 0 && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    uint16_t port = 0;
    if (peer.ss_family == AF_INET)
      port = ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
    else if (peer.ss_family == AF_INET6)
      port = ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port);
    if (port != 0 && port == self_->remote_port(hdl_))
      ::shutdown(fd, SHUT_WR);
  }
  self_->close(hdl_);
}

} // namespace dja::stream
