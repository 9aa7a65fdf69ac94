"""A minimal RFC 6455 client for the tests of the `http` listener
(test_websocket.py, test_websocket_browser.py): standard library only,
bounded waits. The server under test uses http_parser and wslay; this
side is written out so that a test can also send what a library would
refuse to (unmasked, binary, oversize and malformed frames)."""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


class WsError(Exception):
    pass


def connect(port, tls=True, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    s.settimeout(timeout)
    return s


def read_response(s, deadline):
    """(status, {lower-case header: value}, body) of one HTTP response."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise WsError("no complete HTTP response head: %r" % buf[:300])
        chunk = s.recv(65536)
        if not chunk:
            raise WsError("connection closed before the response head: %r" % buf[:300])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0")) if status != 101 else 0
    while len(rest) < n:
        if time.monotonic() > deadline:
            raise WsError("body incomplete")
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n], rest[n:]


def http(port, method, path, headers=None, body=b"", tls=True, timeout=10):
    s = connect(port, tls, timeout)
    try:
        h = {"Host": "127.0.0.1:%d" % port, "Connection": "close"}
        h.update(headers or {})
        if body:
            h["Content-Length"] = str(len(body))
        req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        s.sendall(req.encode() + body)
        status, hdrs, data, _ = read_response(s, time.monotonic() + timeout)
        return status, hdrs, data
    finally:
        s.close()


def frame(opcode, payload, mask=True, fin=True):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class WebSocket:
    """An upgraded connection: send text, receive messages (text, or
    ('close', code), ('pong', data))."""

    def __init__(self, port, origin=None, protocols="xmpp", tls=True, timeout=10,
                 path="/xmpp-websocket"):
        self.sock = connect(port, tls, timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        h = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if protocols:
            h.append("Sec-WebSocket-Protocol: " + protocols)
        if origin:
            h.append("Origin: " + origin)
        self.sock.sendall(("\r\n".join(h) + "\r\n\r\n").encode())
        self.status, self.headers, self.body, self.buf = read_response(self.sock, time.monotonic() + timeout)
        self.accept_ok = self.headers.get("sec-websocket-accept") == base64.b64encode(
            hashlib.sha1((key + GUID).encode()).digest()).decode()

    def send(self, text, opcode=1, mask=True):
        self.sock.sendall(frame(opcode, text, mask))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WsError("timed out waiting for a frame")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise WsError("timed out waiting for a frame")
            except (ssl.SSLError, OSError) as e:
                raise WsError("connection error: %s" % e)
            if not chunk:
                raise WsError("connection closed")
            self.buf += chunk

    def recv(self, timeout=10):
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise WsError("the server masked a frame")
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._need(off + n, deadline)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        op = b0 & 0x0F
        if op == 1:
            return payload.decode()
        if op == 8:
            return ("close", struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
        if op == 10:
            return ("pong", payload)
        if op == 9:
            return ("ping", payload)
        return ("opcode %d" % op, payload)

    def expect(self, pred, what, timeout=10):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WsError("%s not received within %ds (got %r)" % (what, timeout, seen))
            m = self.recv(left)
            seen.append(m)
            if pred(m):
                return m

    def closed(self, timeout=5):
        """True once the server has closed the TCP connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ssl.SSLError, OSError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def open_stream(domain="localhost"):
    return "<open xmlns='%s' to='%s' version='1.0'/>" % (FRAMING, domain)
