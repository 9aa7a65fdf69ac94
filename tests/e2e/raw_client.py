"""A raw c2s stream for e2e tests that count bytes and stanzas themselves
(tests/e2e/test_shutdown_drain.py, test_write_buffer.py): SASL PLAIN
login and bind, then text in and out, optionally over direct TLS and with
a small receive buffer (a client that does not read)."""

import base64
import re
import socket
import ssl
import time


class Failure(Exception):
    pass


class Client:
    """A raw c2s stream: PLAIN login (password "pw"), bind, then text."""

    def __init__(self, port, user, domain="localhost", step=15.0, tls=False,
                 rcvbuf=None, resource="r"):
        self.user = user
        self.domain = domain
        self.step = step
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so the window the server sees stays small.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(step)
        s.connect(("127.0.0.1", port))
        if tls:
            tc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tc.check_hostname = False
            tc.verify_mode = ssl.CERT_NONE
            s = tc.wrap_socket(s, server_hostname=domain)
        self.sock = s
        self.buf = ""
        self.closed = False
        self._header()
        self.expect(r"<mechanisms")
        plain = base64.b64encode(("\0%s\0pw" % user).encode()).decode()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>" % plain)
        self.expect(r"<success")
        self.buf = ""
        self._header()
        self.expect(r"<bind")
        self.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:"
                  "ns:xmpp-bind'><resource>%s</resource></bind></iq>"
                  % resource)
        self.expect(r"id=['\"]b['\"]")
        self.buf = ""

    def _header(self):
        self.send("<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber"
                  ".org/streams' version='1.0'>" % self.domain)

    def send(self, text):
        self.sock.sendall(text.encode())

    def read(self, timeout):
        """Reads what arrives within `timeout`; False once closed."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except (OSError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.chunks.append(data)
        return True

    # What arrived, as text; kept as raw chunks until asked for, so that
    # reading megabytes does not copy the text at every recv.
    @property
    def buf(self):
        if self.chunks:
            self._text += b"".join(self.chunks).decode("utf-8", "replace")
            self.chunks = []
        return self._text

    @buf.setter
    def buf(self, text):
        self.chunks = []
        self._text = text

    def expect(self, pattern, timeout=None):
        timeout = self.step if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.buf):
            if time.monotonic() > deadline or not self.read(0.5):
                if re.search(pattern, self.buf):
                    break
                raise Failure("%s: no %r within %.0fs (got %r)"
                              % (self.user, pattern, timeout,
                                 self.buf[-300:]))

    def read_until_closed(self, timeout):
        """Reads until the server closes (True) or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.read(0.5):
            pass
        return self.closed

    def close(self):
        try:
            self.send("</stream:stream>")
        except (OSError, ssl.SSLError):
            pass
        self.sock.close()
