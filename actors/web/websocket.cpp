// WebSocket framing on wslay, and RFC 7395's XMPP framing (websocket.hpp).

#include "web/websocket.hpp"

#include <wslay/wslay.h>

#include <cstring>
#include <random>

namespace dja::web {

struct ws_callbacks {
  static ws_codec& of(void* p) { return *static_cast<ws_codec*>(p); }

  static ssize_t recv(wslay_event_context_ptr ctx, uint8_t* buf, size_t len,
                      int, void* user) {
    auto& c = of(user);
    if (c.in_len_ == 0) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    auto n = std::min(len, c.in_len_);
    std::memcpy(buf, c.in_, n);
    c.in_ += n;
    c.in_len_ -= n;
    return static_cast<ssize_t>(n);
  }

  static ssize_t send(wslay_event_context_ptr, const uint8_t* data,
                      size_t len, int, void* user) {
    of(user).out_.append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }

  static int genmask(wslay_event_context_ptr, uint8_t* buf, size_t len,
                     void*) {
    // Servers do not mask (RFC 6455 §5.1); wslay asks only clients.
    thread_local std::mt19937 rng{std::random_device{}()};
    for (size_t i = 0; i < len; ++i)
      buf[i] = static_cast<uint8_t>(rng());
    return 0;
  }

  static void on_msg(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* a,
                     void* user) {
    auto& c = of(user);
    if (c.msgs_ == nullptr)
      return;
    ws_codec::message m;
    if (a->opcode == WSLAY_TEXT_FRAME)
      m.k = ws_codec::kind::text;
    else if (a->opcode == WSLAY_BINARY_FRAME)
      m.k = ws_codec::kind::binary;
    else if (a->opcode == WSLAY_CONNECTION_CLOSE)
      m.k = ws_codec::kind::close;
    else
      return; // ping, pong: answered by wslay
    m.data.assign(reinterpret_cast<const char*>(a->msg), a->msg_length);
    m.close_code = a->status_code;
    c.msgs_->push_back(std::move(m));
  }
};

ws_codec::ws_codec(std::size_t max_message) {
  wslay_event_callbacks cb{};
  cb.recv_callback = ws_callbacks::recv;
  cb.send_callback = ws_callbacks::send;
  cb.genmask_callback = ws_callbacks::genmask;
  cb.on_msg_recv_callback = ws_callbacks::on_msg;
  wslay_event_context_server_init(&ctx_, &cb, this);
  wslay_event_config_set_max_recv_msg_length(ctx_, max_message);
}

ws_codec::~ws_codec() {
  if (ctx_ != nullptr)
    wslay_event_context_free(ctx_);
}

bool ws_codec::feed(const char* data, std::size_t len,
                    std::vector<message>& out) {
  in_ = data;
  in_len_ = len;
  msgs_ = &out;
  int rv = 0;
  // wslay reads until the callback would block: everything given.
  if (wslay_event_get_read_enabled(ctx_))
    rv = wslay_event_recv(ctx_);
  msgs_ = nullptr;
  in_ = nullptr;
  in_len_ = 0;
  // A protocol error, an oversize message or bad UTF-8 disable reading
  // and queue a close frame (1002, 1009, 1007).
  bool ok = rv == 0 && (wslay_event_get_read_enabled(ctx_) || close_received());
  wslay_event_send(ctx_); // pongs, the answer to a close, a close
  return ok;
}

void ws_codec::send_text(std::string_view text) {
  wslay_event_msg m{WSLAY_TEXT_FRAME,
                    reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  if (wslay_event_queue_msg(ctx_, &m) == 0)
    wslay_event_send(ctx_);
}

void ws_codec::send_ping() {
  wslay_event_msg m{WSLAY_PING, nullptr, 0};
  if (wslay_event_queue_msg(ctx_, &m) == 0)
    wslay_event_send(ctx_);
}

void ws_codec::send_close(uint16_t code, std::string_view why) {
  if (why.size() > 120)
    why = why.substr(0, 120);
  if (wslay_event_queue_close(ctx_, code,
                              reinterpret_cast<const uint8_t*>(why.data()),
                              why.size())
      == 0)
    wslay_event_send(ctx_);
}

void ws_codec::take_output(std::string& out) {
  if (out.empty())
    out.swap(out_);
  else
    out += out_;
  out_.clear();
}

bool ws_codec::close_received() const {
  return wslay_event_get_close_received(ctx_) != 0;
}

bool ws_codec::close_sent() const {
  return wslay_event_get_close_sent(ctx_) != 0;
}

namespace {

constexpr std::string_view stream_close = "</stream:stream>";
constexpr std::string_view stream_ns_decl
  = " xmlns:stream='http://etherx.jabber.org/streams'";

bool starts(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

} // namespace

std::vector<std::string> to_framing(std::string_view text, bool& closing) {
  std::vector<std::string> out;
  closing = false;
  if (starts(text, "<?xml")) {
    auto end = text.find("?>");
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 2);
  }
  if (starts(text, "<stream:stream ")) {
    // Our own header (connection.cpp send_header): its attributes, except
    // the namespace declarations, go on <open/>.
    auto end = text.find('>');
    auto attrs = text.substr(15, end == std::string_view::npos
                                   ? std::string_view::npos
                                   : end - 15);
    std::string open = "<open xmlns='";
    open += ns_framing;
    open += "'";
    // Each attribute is name='value' (our serializer's quoting).
    std::string_view rest = attrs;
    while (!rest.empty()) {
      while (!rest.empty() && rest.front() == ' ')
        rest.remove_prefix(1);
      auto eq = rest.find("='");
      if (eq == std::string_view::npos)
        break;
      auto close = rest.find('\'', eq + 2);
      if (close == std::string_view::npos)
        break;
      auto name = rest.substr(0, eq);
      if (name != "xmlns" && name != "xmlns:stream") {
        open += ' ';
        open += rest.substr(0, close + 1);
      }
      rest.remove_prefix(close + 1);
    }
    open += "/>";
    out.push_back(std::move(open));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  bool ends_stream = text.size() >= stream_close.size()
                     && text.substr(text.size() - stream_close.size())
                          == stream_close;
  if (ends_stream)
    text.remove_suffix(stream_close.size());
  if (!text.empty()) {
    std::string m;
    if (starts(text, "<stream:features") || starts(text, "<stream:error")) {
      auto name_end = text.find_first_of(" />");
      m.append(text.substr(0, name_end));
      m.append(stream_ns_decl);
      m.append(text.substr(name_end));
    } else {
      m.assign(text);
    }
    out.push_back(std::move(m));
  }
  if (ends_stream) {
    std::string c = "<close xmlns='";
    c += ns_framing;
    c += "'/>";
    out.push_back(std::move(c));
    closing = true;
  }
  return out;
}

} // namespace dja::web
