#!/usr/bin/python3
"""The `http` listener (docs/web.md) over a raw socket: HTTP routes and
XMPP over WebSocket (RFC 7395), success and refusals.

  * /health answers 200; XEP-0156 /.well-known/host-meta and
    host-meta.json name the wss:// endpoint; an unknown path is 404;
  * GET of /xmpp-websocket without an upgrade: 426; an upgrade without the
    xmpp subprotocol: 400; from an origin not in allowed_origins: 403;
  * a WebSocket stream: <open/> answered by <open/> and features, SASL
    PLAIN, the restart with a second <open/>, resource binding, a message
    to a slixmpp client on TCP c2s and its answer, a WebSocket ping
    answered with a pong, <close/> answered with <close/> and a close
    frame (1000);
  * errors as RFC 7395 stream errors followed by <close/>: a message over
    the stanza size bound (policy-violation), two stanzas in one message
    and a <stream:stream> header instead of <open/> (bad-format), XML that
    is not well-formed, a binary frame (bad-format); an unmasked client
    frame closes the WebSocket with 1002 (wslay).

    /usr/bin/python3 tests/e2e/test_websocket.py --server build/djabberd-actors
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
import ws_lib as ws  # noqa: E402

NAME = "test_websocket"
ORIGIN = "http://allowed.example"

CONFIG = """
[server]
log_level = "debug"
data_dir  = "@DATA_DIR@"

[limits]
preauth_stanza_size = 4096

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@
starttls = "off"
allow_plain_without_tls = true

[[listen]]
kind    = "http"
address = "127.0.0.1"
port    = @TLS_PORT@
tls     = true
allowed_origins = ["%s"]

[[vhost]]
domain = "localhost"
tls_cert = "@CERT@"
tls_key  = "@KEY@"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { alice = "pw", bob = "pw" }
""" % ORIGIN


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def test_routes(port):
    st, h, body = ws.http(port, "GET", "/health")
    check(st == 200 and body == b"ok\n", "/health: %s %r" % (st, body))
    check(h.get("x-content-type-options") == "nosniff", "/health without nosniff: %s" % h)
    url = "wss://127.0.0.1:%d/xmpp-websocket" % port
    st, h, body = ws.http(port, "GET", "/.well-known/host-meta")
    check(st == 200 and url.encode() in body and b"urn:xmpp:alt-connections:websocket" in body,
          "host-meta: %s %r" % (st, body))
    check(h.get("access-control-allow-origin") == "*", "host-meta without CORS: %s" % h)
    st, h, body = ws.http(port, "GET", "/.well-known/host-meta.json")
    links = json.loads(body)["links"]
    check(st == 200 and {"rel": "urn:xmpp:alt-connections:websocket", "href": url} in links,
          "host-meta.json: %s %r" % (st, body))
    st, _, _ = ws.http(port, "GET", "/nothing-here")
    check(st == 404, "unknown path: %s" % st)
    # GET /metrics: the metrics actor's Prometheus text, parsed by the
    # reference parser (docs/metrics.md)
    st, h, body = ws.http(port, "GET", "/metrics")
    check(st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics: %s %s" % (st, h))
    from prometheus_client.parser import text_string_to_metric_families
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    check("dja_sessions" in names or any(n.startswith("dja_") for n in names),
          "/metrics without dja_ series: %s" % sorted(names)[:10])
    check("process_resident_memory_bytes" in names, "/metrics without process metrics")
    st, _, _ = ws.http(port, "GET", "/metricsx")
    check(st == 404, "/metricsx: %s" % st)
    st, h, body = ws.http(port, "GET", "/xmpp-websocket")
    check(st == 426 and h.get("upgrade") == "websocket", "plain GET of the endpoint: %s %s" % (st, h))
    # keep-alive: two requests on one connection
    s = ws.connect(port)
    try:
        for _ in range(2):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            st, h, body, _ = ws.read_response(s, __import__("time").monotonic() + 10)
            check(st == 200 and h.get("connection") == "keep-alive", "keep-alive: %s %s" % (st, h))
    finally:
        s.close()
    # garbage is answered 400 and closed
    s = ws.connect(port)
    try:
        s.sendall(b"<stream:stream to='localhost'>\r\n\r\n")
        st, _, _, _ = ws.read_response(s, __import__("time").monotonic() + 10)
        check(st == 400, "not HTTP: %s" % st)
    finally:
        s.close()


def test_refusals(port):
    w = ws.WebSocket(port, origin=ORIGIN, protocols="chat")
    check(w.status == 400, "upgrade without the xmpp subprotocol: %s %r" % (w.status, w.body))
    check(w.closed(), "connection left open after a refused upgrade")
    w.close()
    w = ws.WebSocket(port, origin="https://evil.example")
    check(w.status == 403, "upgrade from a bad origin: %s" % w.status)
    w.close()
    # no Origin: not a browser, allowed
    w = ws.WebSocket(port, origin=None)
    check(w.status == 101, "upgrade without Origin: %s" % w.status)
    w.close()


def upgraded(port):
    w = ws.WebSocket(port, origin=ORIGIN)
    check(w.status == 101, "upgrade: %s %r" % (w.status, w.body))
    check(w.accept_ok, "wrong Sec-WebSocket-Accept: %s" % w.headers)
    check(w.headers.get("sec-websocket-protocol") == "xmpp", "no xmpp subprotocol: %s" % w.headers)
    return w


def opened(port):
    """An upgraded connection past <open/> and the stream features."""
    w = upgraded(port)
    w.send(ws.open_stream())
    w.expect(lambda m: isinstance(m, str) and "<stream:features" in m, "features")
    return w


def stream_error(w, condition, what):
    m = w.expect(lambda m: isinstance(m, str) and "stream:error" in m, what + ": a stream error")
    check(condition in m and "xmlns:stream=" in m, "%s: %r" % (what, m))
    w.expect(lambda m: isinstance(m, str) and m.startswith("<close"), what + ": <close/>")
    w.expect(lambda m: isinstance(m, tuple) and m[0] == "close", what + ": the close frame")
    check(w.closed(), what + ": the connection stays open")
    w.close()


def test_errors(port):
    # over the pre-authentication stanza bound (4096 in this config)
    w = opened(port)
    w.send("<message xmlns='jabber:client' to='bob@localhost'><body>%s</body></message>" % ("x" * 6000))
    stream_error(w, "policy-violation", "oversize message")
    # two stanzas in one message
    w = opened(port)
    w.send("<presence xmlns='jabber:client'/><presence xmlns='jabber:client'/>")
    stream_error(w, "bad-format", "two stanzas in a message")
    # a TCP stream header instead of <open/>
    w = upgraded(port)
    w.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
           "to='localhost' version='1.0'>")
    # (a stream header inside the stream, as over TCP)
    stream_error(w, "unsupported-stanza-type", "<stream:stream> instead of <open/>")
    # not well-formed
    w = opened(port)
    w.send("<message xmlns='jabber:client'><body></message>")
    stream_error(w, "not-well-formed", "bad XML")
    # a binary frame
    w = opened(port)
    w.send(b"<presence/>", opcode=2)
    stream_error(w, "bad-format", "binary frame")
    # an unknown host
    w = upgraded(port)
    w.send(ws.open_stream("nowhere.example"))
    stream_error(w, "host-unknown", "unknown host")
    # an unmasked frame: RFC 6455 §5.1, closed with 1002 by wslay
    w = upgraded(port)
    w.send(ws.open_stream(), mask=False)
    m = w.expect(lambda m: isinstance(m, tuple) and m[0] == "close", "close frame after an unmasked frame")
    check(m[1] == 1002, "unmasked frame: close code %s" % (m[1],))
    check(w.closed(), "connection open after an unmasked frame")
    w.close()


def slix_bob(port, ready, got, stop):
    """bob on TCP c2s (slixmpp), echoing every chat message back."""
    import slixmpp
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    c = slixmpp.ClientXMPP("bob@localhost/tcp", "pw")
    c["feature_mechanisms"].unencrypted_plain = True

    def on_start(_e):
        c.send_presence()
        ready.set()

    def on_message(m):
        if m["type"] in ("chat", "normal") and m["body"]:
            got.append(m["body"])
            c.send_message(mto=m["from"], mbody="echo: " + m["body"], mtype="chat")

    c.add_event_handler("session_start", on_start)
    c.add_event_handler("message", on_message)
    c.connect(address=("127.0.0.1", port), disable_starttls=True)

    async def wait_stop():
        while not stop.is_set():
            await asyncio.sleep(0.05)
        c.disconnect()
        await asyncio.sleep(0.2)
    loop.run_until_complete(asyncio.wait_for(wait_stop(), 60))
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


def test_session(port, c2s_port):
    ready, stop, got = threading.Event(), threading.Event(), []
    t = threading.Thread(target=slix_bob, args=(c2s_port, ready, got, stop), daemon=True)
    t.start()
    try:
        check(ready.wait(15), "slixmpp (bob) did not log in on TCP")
        w = upgraded(port)
        w.send(ws.open_stream())
        m = w.expect(lambda m: isinstance(m, str) and m.startswith("<open"), "<open/>")
        check("from='localhost'" in m and "version='1.0'" in m and ws.FRAMING in m, "open: %r" % m)
        m = w.expect(lambda m: isinstance(m, str) and "<stream:features" in m, "features")
        check("PLAIN" in m and "starttls" not in m, "features over wss: %r" % m)
        creds = base64.b64encode(b"\0alice\0pw").decode()
        w.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % creds)
        w.expect(lambda m: isinstance(m, str) and m.startswith("<success"), "SASL success")
        w.send(ws.open_stream())
        w.expect(lambda m: isinstance(m, str) and m.startswith("<open"), "second <open/>")
        m = w.expect(lambda m: isinstance(m, str) and "<stream:features" in m, "features after SASL")
        check("urn:ietf:params:xml:ns:xmpp-bind" in m and "urn:xmpp:sm:3" in m, "bind features: %r" % m)
        w.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
               "<resource>ws</resource></bind></iq>")
        m = w.expect(lambda m: isinstance(m, str) and "id='b1'" in m, "bind result")
        check("alice@localhost/ws" in m and "xmlns='jabber:client'" in m, "bind: %r" % m)
        w.send("<presence xmlns='jabber:client'/>")
        w.send("<message xmlns='jabber:client' to='bob@localhost/tcp' type='chat'><body>hi bob</body></message>")
        m = w.expect(lambda m: isinstance(m, str) and "echo: hi bob" in m, "bob's answer")
        check(m.startswith("<message") and "xmlns='jabber:client'" in m and "from='bob@localhost/tcp'" in m,
              "message over WebSocket: %r" % m)
        check(got == ["hi bob"], "bob got %r" % got)
        w.send(b"keep", opcode=9)
        m = w.expect(lambda m: isinstance(m, tuple) and m[0] == "pong", "pong")
        check(m[1] == b"keep", "pong payload %r" % (m[1],))
        w.send("<close xmlns='%s'/>" % ws.FRAMING)
        w.expect(lambda m: isinstance(m, str) and m.startswith("<close"), "<close/> answered")
        m = w.expect(lambda m: isinstance(m, tuple) and m[0] == "close", "close frame")
        check(m[1] == 1000, "close code %s" % (m[1],))
        check(w.closed(), "connection open after <close/>")
        w.close()
    finally:
        stop.set()
        t.join(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=120)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_s, _f):
        raise Failure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="dja-ws-")
    path = os.path.join(tmp, "ws.toml")
    with open(path, "w") as f:
        f.write(CONFIG)
    server = sr.Server(os.path.abspath(args.server), path)
    try:
        server.start()
        port = server.tls_port
        for step in (lambda: test_routes(port), lambda: test_refusals(port),
                     lambda: test_errors(port), lambda: test_session(port, server.port)):
            step()
        if server.proc.poll() is not None:
            raise Failure("the server exited (status %s)" % server.proc.returncode)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (Failure, ws.WsError, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server.log_path:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        server.stop()
        server.cleanup()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
