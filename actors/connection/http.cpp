// The `http` listener's side of a connection (docs/web.md): requests
// parsed by the pump (web/http.hpp) are answered here, by the built-in
// routes (/health, XEP-0156 host-meta, the RFC 7395 WebSocket upgrade)
// or a handler actor of the route table (web/settings.hpp). After the
// upgrade the connection is a c2s stream like any other: the pump frames
// it (RFC 6455 / RFC 7395) and everything else — SASL, the throttle,
// binding, XEP-0198, carbons — is this actor's usual code.

#include <cctype>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "connection/connection_state.hpp"
#include "web/settings.hpp"

namespace dja {

namespace {

/// The Host header if it is a plain host[:port] (nothing to inject).
std::string safe_host(const web::request& req) {
  auto h = req.header("host");
  if (h == nullptr || h->empty() || h->size() > 255)
    return {};
  for (char c : *h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
          || c == ':' || c == '[' || c == ']'))
      return {};
  return *h;
}

} // namespace

void connection_state::http_reply(const web::response& r, bool head) {
  if (ph == phase::closed)
    return;
  bool keep = http_keep_alive && r.status < 500;
  pump->http_write(web::serialize(r, keep, head));
  if (keep) {
    pump->http_next();
  } else {
    ph = phase::closed;
    pump->close();
    self->quit();
  }
}

void connection_state::on_http_request(web::request& req) {
  req.remote = remote;
  req.tls = tls() != nullptr;
  http_keep_alive = req.keep_alive;
  bool head = req.method == "HEAD";
  bool get = req.method == "GET" || head;
  spdlog::debug("http {}:{} {} {}", remote, remote_port, req.method, req.path);
  if (req.path == web->websocket_path) {
    websocket_upgrade(req);
    return;
  }
  if (req.path == "/health" && get
      && web->find(req.method, req.path) == nullptr) {
    // For load balancers: this node accepts connections and runs its
    // actors (the request went through the listener and this one); the
    // server routes /health to the metrics actor's verdict instead.
    http_reply(web::response::text(200, "ok\n"), head);
    return;
  }
  if ((req.path == "/.well-known/host-meta"
       || req.path == "/.well-known/host-meta.json")
      && get) {
    // XEP-0156 §3: where the WebSocket endpoint is.
    auto url = web->websocket_url;
    if (url.empty()) {
      auto host = safe_host(req);
      if (host.empty()) {
        http_reply(web::response::text(400, "a Host header is required\n"),
                   head);
        return;
      }
      url = (web->tls ? "wss://" : "ws://") + host + web->websocket_path;
    }
    web::response r;
    if (req.path.size() > 22) { // host-meta.json
      r = web::response::text(
        200,
        "{\"links\":[{\"rel\":\"urn:xmpp:alt-connections:websocket\","
        "\"href\":\""
          + url + "\"}]}\n",
        "application/json");
    } else {
      r = web::response::text(
        200,
        "<?xml version='1.0' encoding='utf-8'?>\n"
        "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
        "  <Link rel='urn:xmpp:alt-connections:websocket' href='"
          + xml::escape(url) + "'/>\n</XRD>\n",
        "application/xrd+xml");
    }
    // Web clients on other origins read it (XEP-0156 §3.2.1).
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    http_reply(r, head);
    return;
  }
  auto route = web->find(req.method, req.path);
  if (route == nullptr) {
    http_reply(web::response::text(404, "not found\n"), head);
    return;
  }
  pump->pause();
  self->request(route->handler, route->timeout, std::move(req))
    .then(
      [this, head](web::response& r) {
        pump->resume();
        http_reply(r, head);
      },
      [this, head](caf::error& err) {
        spdlog::warn("http {}:{}: route handler failed: {}", remote,
                     remote_port, self->system().render(err));
        pump->resume();
        http_keep_alive = false;
        http_reply(web::response::text(
                     err == caf::sec::request_timeout ? 504 : 500,
                     "the handler did not answer\n"),
                   head);
      });
}

void connection_state::websocket_upgrade(const web::request& req) {
  http_keep_alive = false; // every refusal below closes
  if (req.method != "GET") {
    auto r = web::response::text(405, "GET only\n");
    r.headers.emplace_back("Allow", "GET");
    http_reply(r, req.method == "HEAD");
    return;
  }
  if (!req.upgrade || !req.header_has("upgrade", "websocket")
      || !req.header_has("connection", "upgrade")) {
    // A browser pointed at the endpoint, or a proxy that dropped the
    // upgrade (RFC 7230 §6.7: 426 names the protocol to upgrade to).
    auto r = web::response::text(
      426, "This is an XMPP over WebSocket endpoint (RFC 7395): connect "
           "with a WebSocket and the xmpp subprotocol.\n");
    r.headers.emplace_back("Upgrade", "websocket");
    http_reply(r, false);
    return;
  }
  auto version = req.header("sec-websocket-version");
  if (version == nullptr || *version != "13") {
    auto r = web::response::text(426, "WebSocket version 13 only\n");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    http_reply(r, false);
    return;
  }
  auto key = req.header("sec-websocket-key");
  auto raw = key ? base64::decode(*key) : std::nullopt;
  if (!raw || raw->size() != 16) {
    http_reply(web::response::text(400, "bad Sec-WebSocket-Key\n"), false);
    return;
  }
  if (!web::origin_allowed(web->allowed_origins, req.header("origin"))) {
    spdlog::info("websocket from {}:{} refused: origin {} not in "
                 "allowed_origins",
                 remote, remote_port, *req.header("origin"));
    http_reply(web::response::text(403, "origin not allowed\n"), false);
    return;
  }
  if (!req.header_has("sec-websocket-protocol", "xmpp")) {
    // RFC 7395 §3.2: the xmpp subprotocol, nothing else.
    http_reply(web::response::text(
                 400, "the xmpp WebSocket subprotocol is required "
                      "(RFC 7395 §3.1)\n"),
               false);
    return;
  }
  web::response r;
  r.status = 101;
  r.headers = {{"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Accept", web::websocket_accept(*key)},
               {"Sec-WebSocket-Protocol", "xmpp"}};
  pump->http_write(web::serialize(r, true));
  // A message may hold the largest stanza plus some framing slack; the
  // parser holds each stanza to the stream's bound (policy-violation).
  pump->start_websocket(ctx->limits.c2s_stanza_size + 4096);
  spdlog::info("websocket opened {}:{} origin {}", remote, remote_port,
               req.header("origin") ? *req.header("origin") : "-");
}

caf::behavior http_connection_actor(connection_broker* self,
                                    caf::io::connection_handle hdl,
                                    context_ptr ctx, listener_options opts,
                                    std::shared_ptr<const web::settings> web) {
  // TLS (wss) from the first byte or none (behind a proxy); never
  // STARTTLS inside a WebSocket.
  opts.direct_tls = web->tls;
  opts.starttls = listener_options::starttls_mode::off;
  self->state.web = web;
  auto b = connection_actor(self, hdl, std::move(ctx), opts);
  self->state.pump->start_http(web->max_header, web->max_body);
  return b;
}

} // namespace dja
