"""One client connection (TCP, TLS, an incremental expat reader) and the
SASL helpers: SCRAM names, channel binding (RFC 5929
tls-server-end-point, RFC 9266 tls-exporter).

Part of the scenario runner (runner.py); standard library only.
"""

import base64
import ctypes
import hashlib
import os
import select
import socket
import ssl
import sys
import time
import weakref
import xml.parsers.expat
from collections import deque

from scn_xml import El, Failure, NS_CLIENT, NS_COMPONENT, _clark, _esc, split_ns, to_xml


# --------------------------------------------------------------------------
# Connections

class Conn:
    """One TCP connection with an incremental XML reader (expat). Events:
    ('stanza', El) for each complete depth-1 element, ('close',) for the
    server's </stream:stream>, ('eof', reason), ('parse-error', msg)."""

    def __init__(self, name, verbose_out=None, ignore=(), component=False):
        self.name = name
        # a XEP-0114 component stream: its stanzas (jabber:component:accept)
        # are read as jabber:client, so that the same patterns match them
        self.component = component
        self.ignore = {(NS_CLIENT, k) for k in ignore}  # stanza kinds dropped on arrival
        self.sock = None
        self.events = deque()
        self.header = None
        self.headers_seen = 0
        self.features = None
        self.eof = False
        self.closed_tag = False
        self.parse_failed = False
        self.tls = None         # dict (version, cipher, sni, cert_der, cert_sha256) once TLS is up
        self.transcript = []  # (time, dir, text)
        self.t0 = time.monotonic()
        self.verbose_out = verbose_out
        self._new_parser()

    def log(self, direction, data):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        self.transcript.append((time.monotonic() - self.t0, direction, data))
        if self.verbose_out is not None:
            self.verbose_out("    %s %s %s" % (self.name, direction, data[:2000]))

    def transcript_text(self, limit=6000):
        lines = []
        for t, d, s in self.transcript:
            lines.append("  [%7.3f] %s %s" % (t, d, s))
        text = "\n".join(lines)
        if len(text) > limit:
            text = "  ...\n" + text[-limit:]
        return text

    # parser ---------------------------------------------------------------
    def _new_parser(self):
        p = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        p.buffer_text = True
        stack = []
        pending = {}

        def nsdecl(prefix, uri):
            pending[prefix or ""] = uri or ""

        def start(name, attrs):
            el = El(_clark(name), {_clark(k): v for k, v in attrs.items()}, dict(pending))
            if self.component and stack and el.tag.startswith("{%s}" % NS_COMPONENT):
                el.tag = "{%s}%s" % (NS_CLIENT, split_ns(el.tag)[1])
            pending.clear()
            if not stack:
                self.header = el
                self.headers_seen += 1
            elif len(stack) >= 2:
                stack[-1].children.append(el)
            stack.append(el)

        def end(name):
            el = stack.pop()
            if not stack:
                self.closed_tag = True
                self.events.append(("close",))
            elif len(stack) == 1:
                if split_ns(el.tag) in self.ignore:
                    self.log("--", "(ignored <%s/>, see 'ignore:')" % split_ns(el.tag)[1])
                else:
                    self.events.append(("stanza", el))

        def chars(data):
            if len(stack) >= 2:
                stack[-1].text += data

        p.StartNamespaceDeclHandler = nsdecl
        p.StartElementHandler = start
        p.EndElementHandler = end
        p.CharacterDataHandler = chars
        self.parser = p
        self.parse_failed = False
        self.closed_tag = False

    def reset_stream(self):
        """Before sending a new stream header: consume what is pending in the
        old stream, then parse incoming bytes as a new document."""
        if self.sock is not None and not self.eof:
            self.pump(time.monotonic(), block=False)
        self._new_parser()

    def _feed(self, data):
        if self.parse_failed:
            return
        try:
            self.parser.Parse(data, False)
        except xml.parsers.expat.ExpatError as e:
            self.parse_failed = True
            self.events.append(("parse-error", "server output is not well-formed XML: %s" % e))

    # socket ---------------------------------------------------------------
    def connect(self, host, port, deadline, source=None):
        last = None
        while True:
            try:
                s = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()),
                                             source_address=(source, 0) if source else None)
                break
            except OSError as e:
                last = e
                if time.monotonic() >= deadline:
                    raise Failure("%s: cannot connect to %s:%d: %s" % (self.name, host, port, last))
                time.sleep(0.05)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        self.sock = s
        self.log("--", "connected to %s:%d%s" % (host, port, " from %s" % source if source else ""))

    def start_tls(self, sni, deadline, version=None):
        """TLS handshake on the connected socket (after <proceed/>, or right
        away for direct TLS). No certificate verification; `sni` is the
        server name sent (None: no SNI); `version` '1.2' / '1.3' pins it."""
        if self.sock is None:
            raise Failure("%s: not connected" % self.name)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # CPython sets OP_IGNORE_UNEXPECTED_EOF: clear it so that a TCP close
        # without TLS close_notify can be told apart (logged, not a failure)
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        if version:
            v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
            ctx.minimum_version = v
            ctx.maximum_version = v
        try:
            # suppress_ragged_eofs=False: a TCP close without TLS close_notify is told apart
            s = ctx.wrap_socket(self.sock, server_hostname=sni, do_handshake_on_connect=False,
                                suppress_ragged_eofs=False)
        except (ssl.SSLError, OSError, ValueError) as e:
            raise Failure("%s: cannot start TLS: %s" % (self.name, e), client=self.name)
        self.sock = s
        self.log("--", "TLS handshake (SNI %s%s)" % (sni or "none", ", TLS %s only" % version if version else ""))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure("%s: TLS handshake not finished within the time limit" % self.name, client=self.name)
            try:
                s.do_handshake()
                break
            except ssl.SSLWantReadError:
                select.select([s], [], [], remaining)
            except ssl.SSLWantWriteError:
                select.select([], [s], [], remaining)
            except (ssl.SSLError, OSError) as e:
                self.log("--", "TLS handshake failed: %s" % e)
                self.eof = True
                raise Failure("%s: TLS handshake failed: %s" % (self.name, e), client=self.name)
        der = s.getpeercert(binary_form=True) or b""
        self.tls = {"version": s.version(), "cipher": (s.cipher() or ("?",))[0], "sni": sni,
                    "cert_der": der, "cert_sha256": hashlib.sha256(der).hexdigest()}
        self.log("--", "TLS established: %s, %s, server certificate sha256 %s" % (
            self.tls["version"], self.tls["cipher"], self.tls["cert_sha256"]))

    def send(self, data, deadline, logtext=None):
        """Writes all of `data` (bounded). Returns False when the server
        closed the connection (not an error in itself)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.log("C:", logtext if logtext is not None else data)
        if self.sock is None:
            raise Failure("%s: not connected" % self.name)
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure("%s: timed out sending data (server not reading?)" % self.name)
            _, w, _ = select.select([], [self.sock], [], remaining)
            if not w:
                continue
            try:
                n = self.sock.send(view)
            except (BlockingIOError, ssl.SSLWantWriteError):
                continue
            except ssl.SSLWantReadError:
                time.sleep(0.005)
                continue
            except OSError as e:
                self.log("--", "send failed: %s" % e)
                return False
            view = view[n:]
        return True

    def pump(self, deadline, block=True):
        """Reads what is available (waiting until `deadline` when `block`).
        Returns True if something was read or EOF was seen."""
        if self.sock is None or self.eof:
            return False
        got = 0
        while got < (4 << 20):  # bounded even if the server floods us
            timeout = max(0.0, deadline - time.monotonic()) if block and not got else 0.0
            if self.tls and self.sock.pending():
                r = True  # decrypted bytes already buffered in the TLS layer
            else:
                r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return got > 0
            try:
                data = self.sock.recv(1 << 20)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                if not block or got or time.monotonic() >= deadline:
                    return got > 0
                continue
            except OSError as e:
                self.eof = True
                if isinstance(e, ssl.SSLEOFError) or getattr(e, "reason", "") == "UNEXPECTED_EOF_WHILE_READING":
                    # not an error for the scenario (it sees EOF), but worth seeing (RFC 8446 §6.1)
                    self.log("--", "EOF (server closed the connection without TLS close_notify)")
                    self.events.append(("eof", "closed"))
                else:
                    self.log("--", "connection error: %s" % e)
                    self.events.append(("eof", str(e)))
                return True
            if not data:
                self.eof = True
                self.log("--", "EOF (server closed the connection%s)" % (
                    " after TLS close_notify" if self.tls else ""))
                self.events.append(("eof", "closed"))
                return True
            self.log("S:", data)
            self._feed(data)
            got += len(data)
        return True

    def next_event(self, deadline):
        while not self.events:
            if self.eof:
                return None
            if time.monotonic() >= deadline:
                return None
            self.pump(deadline)
        return self.events.popleft()

    def wait_header(self, count, deadline):
        """Waits until the `count`-th response header arrived."""
        while self.headers_seen < count:
            if self.eof or self.parse_failed or time.monotonic() >= deadline:
                break
            self.pump(deadline)
        if self.headers_seen < count:
            evs = list(self.events)
            if self.parse_failed:
                raise Failure("%s: %s" % (self.name, [e for e in evs if e[0] == "parse-error"][0][1]))
            raise Failure("%s: no stream header from the server%s" % (
                self.name, " (connection closed)" if self.eof else " within the time limit"))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


# --------------------------------------------------------------------------
# Channel binding (RFC 5929 tls-server-end-point, RFC 9266 tls-exporter)

_libssl_handle = None


def _libssl():
    """The libssl this process's ssl module runs on (ctypes), or None."""
    global _libssl_handle
    if _libssl_handle is None:
        _libssl_handle = False
        path = None
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 6 and os.path.basename(parts[-1]).startswith("libssl.so"):
                        path = parts[-1]
                        break
        except OSError:
            pass
        if path:
            try:
                lib = ctypes.CDLL(path)
                lib.SSL_get_fd.argtypes = [ctypes.c_void_p]
                lib.SSL_get_fd.restype = ctypes.c_int
                lib.SSL_export_keying_material.argtypes = [
                    ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
                lib.SSL_export_keying_material.restype = ctypes.c_int
                lib.SSL_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
                lib.SSL_ctrl.restype = ctypes.c_long
                _libssl_handle = lib
            except (OSError, AttributeError):
                pass
    return _libssl_handle or None


def tls_exporter(sock):
    """RFC 9266 tls-exporter channel binding of an ssl.SSLSocket (TLS 1.3,
    or 1.2 with the extended master secret, RFC 9266 §2), or None when it is
    undefined or this Python cannot compute it. The ssl module
    offers only tls-unique, so this finds the OpenSSL SSL* of CPython's
    _ssl._SSLSocket (struct layout: PyObject_HEAD, weak reference to the
    socket, SSL *) and calls SSL_export_keying_material through ctypes. The
    layout is checked before use: the first field must be the socket's
    weak reference and SSL_get_fd() of the pointer the socket's descriptor."""
    if sys.implementation.name != "cpython" or sock.version() not in ("TLSv1.2", "TLSv1.3"):
        return None
    lib = _libssl()
    obj = getattr(sock, "_sslobj", None)
    if lib is None or obj is None:
        return None
    try:
        ref = weakref.ref(sock)
    except TypeError:
        return None
    base = id(obj) + object.__basicsize__
    if ctypes.c_void_p.from_address(base).value != id(ref):
        return None
    ptr = ctypes.c_void_p.from_address(base + ctypes.sizeof(ctypes.c_void_p)).value
    if not ptr or lib.SSL_get_fd(ptr) != sock.fileno():
        return None
    # SSL_get_extms_support() is the macro SSL_ctrl(s, 122, 0, NULL)
    if sock.version() == "TLSv1.2" and lib.SSL_ctrl(ptr, 122, 0, None) != 1:
        return None
    out = ctypes.create_string_buffer(32)
    label = b"EXPORTER-Channel-Binding"
    if lib.SSL_export_keying_material(ptr, out, 32, label, len(label), b"", 0, 1) != 1:
        return None
    return out.raw


# signatureAlgorithm OID (DER content bytes) -> hash for tls-server-end-point
# (RFC 5929 §4.1: MD5 and SHA-1 become SHA-256; unknown ones: SHA-256)
_SIG_HASH = {
    bytes.fromhex("2a864886f70d01010c"): "sha384",   # sha384WithRSAEncryption
    bytes.fromhex("2a864886f70d01010d"): "sha512",   # sha512WithRSAEncryption
    bytes.fromhex("2a864886f70d01010e"): "sha224",   # sha224WithRSAEncryption
    bytes.fromhex("2a8648ce3d040303"): "sha384",     # ecdsa-with-SHA384
    bytes.fromhex("2a8648ce3d040304"): "sha512",     # ecdsa-with-SHA512
    bytes.fromhex("2a8648ce3d040301"): "sha224",     # ecdsa-with-SHA224
}


def _der_item(buf, pos):
    """(tag, content start, content end) of the DER item at pos."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    return tag, pos, pos + n


def tls_server_end_point(der):
    """RFC 5929 tls-server-end-point: the hash of the server's certificate
    with the hash of its signature algorithm (SHA-256 for MD5/SHA-1)."""
    algo = "sha256"
    try:
        _, start, _ = _der_item(der, 0)          # Certificate
        _, _, tbs_end = _der_item(der, start)    # tbsCertificate
        _, alg_start, _ = _der_item(der, tbs_end)  # signatureAlgorithm
        tag, oid_start, oid_end = _der_item(der, alg_start)
        if tag == 0x06:
            algo = _SIG_HASH.get(bytes(der[oid_start:oid_end]), "sha256")
    except IndexError:
        pass
    return hashlib.new(algo, der).digest()


def channel_binding(conn, cb_type):
    """Channel-binding data of a TLS connection, or None if unavailable."""
    if not conn.tls:
        return None
    if cb_type == "tls-exporter":
        return tls_exporter(conn.sock)
    if cb_type == "tls-server-end-point":
        return tls_server_end_point(conn.tls["cert_der"]) if conn.tls["cert_der"] else None
    if cb_type == "tls-unique":
        # Python offers it on TLS 1.3 too, where it is undefined (RFC 9266 §1):
        # the server must refuse it there.
        try:
            return conn.sock.get_channel_binding("tls-unique")
        except (ValueError, ssl.SSLError):
            return None
    return None


def scram_saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def component_header(domain):
    """XEP-0114 §3: no version, the jabber:component:accept namespace."""
    return ("<?xml version='1.0'?><stream:stream to='%s' xmlns='%s' "
            "xmlns:stream='http://etherx.jabber.org/streams'>" % (_esc(domain, True), NS_COMPONENT))


def stream_header(domain, version="1.0"):
    return ("<?xml version='1.0'?><stream:stream to='%s' version='%s' xml:lang='en' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" % (_esc(domain, True), version))


def describe_event(ev):
    if ev is None:
        return "(nothing)"
    if ev[0] == "stanza":
        return to_xml(ev[1])
    if ev[0] == "close":
        return "</stream:stream>  (the server closed its stream)"
    if ev[0] == "eof":
        return "(connection closed: %s)" % ev[1]
    return "(%s)" % ev[1]
