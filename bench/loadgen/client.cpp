// One XMPP client connection: non-blocking connect, buffered writes, and the
// login state machine (stream header, SASL PLAIN, restart, bind, optional
// legacy session), with --tls STARTTLS first (OpenSSL on the same
// non-blocking socket). Traffic handling is in workload.cpp.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "worker.hpp"

namespace lg {

namespace {

constexpr int64_t login_timeout_ns = 30'000'000'000;

std::string base64(std::string_view in) {
  static constexpr char tbl[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = unsigned(uint8_t(in[i])) << 16 | unsigned(uint8_t(in[i + 1])) << 8
                 | uint8_t(in[i + 2]);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = unsigned(uint8_t(in[i])) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = unsigned(uint8_t(in[i])) << 16 | unsigned(uint8_t(in[i + 1])) << 8;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

const char* state_name(cstate s) {
  static const char* const names[] = {
    "unstarted", "connecting", "starttls", "tls-handshake", "sasl-features", "auth", "bind-features",
    "bind", "session", "online", "closing", "closed"};
  return names[int(s)];
}

/// An attribute for output, quoted with whichever quote it does not contain.
std::string quoted(std::string_view v) {
  char q = contains(v, "'") ? '"' : '\'';
  return q + std::string(v) + q;
}

} // namespace

const char* const err_names[err_kinds] = {
  "connect", "auth", "stream", "bind", "disconnect", "timeout", "message",
  "join"};

void worker::start_connect(client& c) {
  c.t_connect = now_ns();
  c.deadline = c.t_connect + login_timeout_ns;
  if (stats.first_connect == 0)
    stats.first_connect = c.t_connect;
  ++logins_in_flight_;
  int fd = ::socket(opt_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail(c, err_connect, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.fd = fd;
  c.state = cstate::connecting;
  sh_.open.fetch_add(1, std::memory_order_relaxed);
  auto addr = opt_.addr;
  if (!opt_.ports.empty()) {
    auto port = htons(uint16_t(opt_.ports[size_t(c.index) % opt_.ports.size()]));
    if (addr.ss_family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&addr)->sin_port = port;
    else
      reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = port;
  }
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), opt_.addr_len);
  if (r < 0 && errno != EINPROGRESS)
    return fail(c, err_connect, std::string("connect: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN | (r < 0 ? uint32_t(EPOLLOUT) : 0u);
  ev.data.ptr = &c;
  c.want_write = r < 0;
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  if (r == 0)
    on_connected(c);
}

void worker::on_event(client& c, uint32_t events) {
  if (c.fd < 0)
    return;
  if (c.state == cstate::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return fail(c, err_connect, std::string("connect: ") + std::strerror(err));
    if (events & EPOLLOUT) {
      set_write_interest(c, false);
      on_connected(c);
    }
    return;
  }
  if (c.ssl) {
    // TLS: a read may need the socket writable and a write readable, so
    // try both whatever the event (each stops at WANT_READ/WANT_WRITE).
    if (c.state == cstate::tls_handshake)
      return tls_handshake(c);
    on_readable(c);
    if (c.fd >= 0 && (c.out_off < c.out.size() || c.want_write))
      write_out(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    on_readable(c);
  if (c.fd >= 0 && (events & EPOLLOUT))
    write_out(c);
}

void worker::start_tls(client& c) {
  c.in.reset(); // the stream starts over inside TLS
  ERR_clear_error();
  c.ssl = SSL_new(sh_.tls_ctx);
  if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1
      || SSL_set_tlsext_host_name(c.ssl, opt_.domain.c_str()) != 1)
    return tls_fail(c, err_connect, "TLS setup");
  SSL_set_connect_state(c.ssl);
  c.state = cstate::tls_handshake;
  tls_handshake(c);
}

void worker::tls_handshake(client& c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.tls_done = true;
    set_write_interest(c, false);
    c.state = cstate::sasl_features;
    return send_header(c);
  }
  switch (SSL_get_error(c.ssl, r)) {
  case SSL_ERROR_WANT_READ:
    return set_write_interest(c, false);
  case SSL_ERROR_WANT_WRITE:
    return set_write_interest(c, true);
  default:
    return tls_fail(c, err_connect, "TLS handshake");
  }
}

void worker::tls_fail(client& c, err_kind k, const char* what) {
  std::string msg = what;
  char buf[256];
  if (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    msg += std::string(": ") + buf;
  } else if (errno) {
    msg += std::string(": ") + std::strerror(errno);
  }
  ERR_clear_error();
  fail(c, k, msg + " in state " + state_name(c.state));
}

void worker::on_connected(client& c) {
  c.in.reset();
  c.state = cstate::sasl_features;
  send_header(c);
}

void worker::send_header(client& c) {
  send(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' to='");
  send(c, opt_.domain);
  send(c, "' version='1.0' xml:lang='en'>");
}

void worker::on_readable(client& c) {
  static thread_local char buf[65536];
  if (c.ssl) {
    // Until WANT_READ: OpenSSL may hold decrypted bytes epoll cannot see.
    while (c.fd >= 0 && c.ssl && c.state != cstate::tls_handshake) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(c.ssl, buf, sizeof buf);
      if (n > 0) {
        c.in.feed(buf, size_t(n));
        for (auto ev = c.in.next(); ev != xml_splitter::event::need_more;
             ev = c.in.next()) {
          on_element(c, ev);
          if (c.fd < 0)
            return;
        }
        continue;
      }
      int e = SSL_get_error(c.ssl, n);
      if (e == SSL_ERROR_WANT_READ)
        return;
      if (e == SSL_ERROR_WANT_WRITE)
        return set_write_interest(c, true);
      if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
        ERR_clear_error();
        if (c.state == cstate::closing)
          return close_fd(c);
        return fail(c, err_disconnect,
                    std::string("server closed the connection in state ")
                      + state_name(c.state));
      }
      return tls_fail(c, c.login_done ? err_disconnect : err_connect, "TLS read");
    }
    return;
  }
  for (int round = 0; round < 4 && c.fd >= 0; ++round) {
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      c.in.feed(buf, size_t(n));
      for (auto ev = c.in.next(); ev != xml_splitter::event::need_more;
           ev = c.in.next()) {
        on_element(c, ev);
        if (c.fd < 0)
          return;
      }
      if (size_t(n) < sizeof buf)
        return;
    } else if (n == 0) {
      if (c.state == cstate::closing)
        return close_fd(c); // a clean end: we asked for it
      return fail(c, err_disconnect,
                  std::string("server closed the connection in state ")
                    + state_name(c.state));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      return fail(c, c.login_done ? err_disconnect : err_connect,
                  std::string("read: ") + std::strerror(errno));
    }
  }
}

void worker::on_element(client& c, xml_splitter::event ev) {
  using event = xml_splitter::event;
  if (ev == event::stream_open)
    return;
  if (ev == event::error)
    return fail(c, err_stream, std::string("unparsable XML: ") + c.in.error());
  if (ev == event::stream_close) {
    if (c.state == cstate::closing)
      return close_fd(c);
    send(c, "</stream:stream>");
    write_out(c);
    return fail(c, err_stream, std::string("server closed the stream in state ")
                                 + state_name(c.state));
  }
  auto name = local_name(c.in.head());
  if (name == "error")
    return fail(c, err_stream, c.in.stanza());
  if (c.state == cstate::closing) {
    if (opt_.sm && name == "a") // the answer to the <r/> sent with the close
      ++stats.sm_acks;
    return;
  }
  if (c.state == cstate::online)
    return on_online_stanza(c, name);
  on_login_stanza(c, name);
}

void worker::on_login_stanza(client& c, std::string_view name) {
  auto stanza = c.in.stanza();
  auto head = c.in.head();
  switch (c.state) {
  case cstate::sasl_features:
    if (name != "features")
      break;
    if (opt_.tls && !c.tls_done) {
      if (!contains(stanza, "urn:ietf:params:xml:ns:xmpp-tls"))
        return fail(c, err_auth, std::string("STARTTLS not offered: ")
                                   + std::string(stanza));
      send(c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      c.state = cstate::starttls;
      return;
    }
    if (!contains(stanza, ">PLAIN<"))
      return fail(c, err_auth, std::string("PLAIN not offered: ") + std::string(stanza));
    send(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>");
    send(c, base64(std::string(1, '\0') + opt_.user(c.index) + '\0' + opt_.password));
    send(c, "</auth>");
    c.state = cstate::auth;
    return;
  case cstate::starttls:
    if (name == "proceed") {
      write_out(c); // nothing should be pending; the socket is TLS's now
      if (c.fd < 0)
        return;
      return start_tls(c);
    }
    if (name == "failure")
      return fail(c, err_auth, std::string("STARTTLS refused: ") + std::string(stanza));
    break;
  case cstate::auth:
    if (name == "success") {
      c.in.reset(); // the server starts a new stream after ours
      c.state = cstate::bind_features;
      return send_header(c);
    }
    if (name == "failure" || name == "challenge")
      return fail(c, err_auth, stanza);
    break;
  case cstate::bind_features:
    if (name != "features")
      break;
    c.need_session = contains(stanza, "xmpp-session") && !contains(stanza, "optional");
    send(c, "<iq type='set' id='lg-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>");
    send(c, opt_.resource);
    send(c, "</resource></bind></iq>");
    c.state = cstate::bind;
    return;
  case cstate::bind:
  case cstate::session: {
    if (name != "iq")
      break;
    auto id = attr(head, "id");
    if (id != (c.state == cstate::bind ? "lg-bind" : "lg-sess"))
      break;
    if (attr(head, "type") != "result")
      return fail(c, err_bind, stanza);
    if (c.state == cstate::session)
      return on_bound(c);
    c.jid = child_text(stanza, "jid");
    if (c.jid.empty())
      c.jid = opt_.user(c.index) + "@" + opt_.domain + "/" + opt_.resource;
    if (!c.need_session)
      return on_bound(c);
    send(c, "<iq type='set' id='lg-sess'>"
            "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    c.state = cstate::session;
    return;
  }
  default:
    break;
  }
  ++stats.other_stanzas; // e.g. a server's early presence or notice
}

void worker::on_online_stanza(client& c, std::string_view name) {
  if (opt_.sm) {
    // XEP-0198 §4: count stanzas, answer the server's ack requests.
    if (name == "message" || name == "iq" || name == "presence")
      ++c.sm_h;
    else if (name == "r") {
      ++stats.sm_requests;
      return send(c, "<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(c.sm_h)
                       + "'/>");
    } else if (name == "enabled") {
      ++stats.sm_enabled;
      return;
    } else if (name == "a") {
      ++stats.sm_acks;
      return;
    }
  }
  if (opt_.run_mode == mode::muc && on_muc_stanza(c, name))
    return;
  if (name == "message")
    return on_message(c);
  auto head = c.in.head();
  auto type = attr(head, "type");
  if (name == "iq" && (type == "get" || type == "set")) {
    // Answer the server's pings and roster pushes; refuse anything else.
    auto stanza = c.in.stanza();
    std::string reply = "<iq id=" + quoted(attr(head, "id"));
    if (auto from = attr(head, "from"); !from.empty())
      reply += " to=" + quoted(from);
    if (contains(stanza, "urn:xmpp:ping") || contains(stanza, "jabber:iq:roster"))
      reply += " type='result'/>";
    else
      reply += " type='error'><error type='cancel'><service-unavailable "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
    return send(c, reply);
  }
  ++stats.other_stanzas;
}

void worker::send(client& c, std::string_view data) {
  if (c.fd < 0)
    return;
  c.out.append(data);
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
}

void worker::flush() {
  for (size_t i = 0; i < dirty_.size(); ++i) { // write_out may not add to it
    dirty_[i]->dirty = false;
    write_out(*dirty_[i]);
  }
  dirty_.clear();
}

void worker::write_out(client& c) {
  if (c.ssl) {
    if (c.state == cstate::tls_handshake)
      return; // send() only queues until the handshake is done
    while (c.fd >= 0 && c.out_off < c.out.size()) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_write(c.ssl, c.out.data() + c.out_off,
                        int(std::min<size_t>(c.out.size() - c.out_off, 1 << 30)));
      if (n > 0) {
        c.out_off += size_t(n);
        continue;
      }
      int e = SSL_get_error(c.ssl, n);
      if (e == SSL_ERROR_WANT_WRITE)
        return set_write_interest(c, true);
      if (e == SSL_ERROR_WANT_READ)
        return; // EPOLLIN is always registered; on_event retries
      return tls_fail(c, c.login_done ? err_disconnect : err_connect, "TLS write");
    }
    if (c.fd < 0)
      return;
    c.out.clear();
    c.out_off = 0;
    return set_write_interest(c, false);
  }
  while (c.fd >= 0 && c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                       MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return set_write_interest(c, true);
    } else if (n < 0 && errno != EINTR) {
      return fail(c, c.login_done ? err_disconnect : err_connect,
                  std::string("write: ") + std::strerror(errno));
    }
  }
  if (c.fd < 0)
    return;
  c.out.clear();
  c.out_off = 0;
  set_write_interest(c, false);
}

void worker::set_write_interest(client& c, bool on) {
  if (c.want_write == on || c.fd < 0)
    return;
  c.want_write = on;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? uint32_t(EPOLLOUT) : 0u);
  ev.data.ptr = &c;
  ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void worker::log_error(client& c, err_kind k, std::string_view detail) {
  ++stats.errors[k];
  if (sh_.errors_logged.fetch_add(1, std::memory_order_relaxed) < 10) {
    if (detail.size() > 300)
      detail = detail.substr(0, 300);
    std::fprintf(stderr, "dja-loadgen: %s error (%s): %.*s\n", err_names[k],
                 opt_.user(c.index).c_str(), int(detail.size()), detail.data());
  }
}

void worker::fail(client& c, err_kind k, std::string_view detail) {
  log_error(c, k, detail);
  finish_login(c, false);
  close_fd(c);
}

void worker::finish_login(client& c, bool ok) {
  if (c.login_done)
    return;
  c.login_done = true;
  --logins_in_flight_;
  if (ok)
    sh_.logins_ok.fetch_add(1, std::memory_order_relaxed);
  sh_.logins_finished.fetch_add(1, std::memory_order_release);
}

void worker::close_fd(client& c) {
  if (c.fd < 0)
    return;
  if (c.ssl) {
    SSL_free(c.ssl); // no close_notify: the TCP close ends it
    c.ssl = nullptr;
  }
  ::close(c.fd); // also leaves the epoll set
  c.fd = -1;
  c.state = cstate::closed;
  c.out.clear();
  c.out_off = 0;
  sh_.open.fetch_sub(1, std::memory_order_relaxed);
}

void worker::begin_close(client& c) {
  if (c.fd < 0 || c.state == cstate::closing)
    return;
  if (c.state != cstate::online)
    return close_fd(c); // still logging in: nothing to close cleanly
  if (opt_.sm) // the server's <a/> shows it counted our stanzas (XEP-0198 §4)
    send(c, "<r xmlns='urn:xmpp:sm:3'/>");
  send(c, "</stream:stream>");
  c.state = cstate::closing;
  c.deadline = now_ns() + int64_t(opt_.close_timeout * 1e9);
}

void worker::check_deadlines(int64_t now) {
  for (auto& c : clients_) {
    if (c.fd < 0 || now < c.deadline)
      continue;
    if (c.state == cstate::online) {
      if (c.muc == mstate::joining || c.muc == mstate::configuring)
        join_failed(c, "no self-presence (or room configuration) within --join-timeout");
      continue;
    }
    if (c.state == cstate::closing) {
      log_error(c, err_timeout, "no </stream:stream> or close in time");
      close_fd(c);
    } else {
      fail(c, err_timeout, std::string("login timed out in state ")
                             + state_name(c.state));
    }
  }
}

} // namespace lg
