#!/usr/bin/python3
"""Scenario runner for djabberd-actors: plays scripted XMPP conversations
(scenarios/**/*.scenario) against a real server process and checks every
stanza the server sends.

Usage:
    tests/scenarios/runner.py --server build/djabberd-actors-test scenarios/
    tests/scenarios/runner.py --attach 127.0.0.1:16222 scenarios/  # Prosody
    tests/scenarios/runner.py --server BIN -k sasl -v scenarios/

For each scenario the runner picks a free port on 127.0.0.1, writes the
scenario's config (scenarios/configs/NAME.toml, @PORT@ / @DATA_DIR@ replaced)
into a temporary directory, starts the server, waits until the port accepts
connections, plays the scenario and stops the server (SIGTERM, bounded wait,
SIGKILL fallback). Every wait is bounded. The syntax of the scenario files is
documented in scenarios/README.md.

TLS (STARTTLS and direct TLS, XEP-0368) uses the ssl module; the SASL
SCRAM client (RFC 5802 / 7677, -PLUS with RFC 9266 / RFC 5929 channel
binding) uses hashlib and hmac; a run-wide self-signed certificate is made
with the openssl command line tool when a config asks for one (@CERT@).

Standard library only.
"""

import argparse
import atexit
import base64
import ctypes
import hashlib
import hmac
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import weakref
import xml.parsers.expat
from collections import deque
from concurrent.futures import ThreadPoolExecutor

NS_STREAM = "http://etherx.jabber.org/streams"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_CLIENT = "jabber:client"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL_CB = "urn:xmpp:sasl-cb:0"
NS_SCN = "urn:scenario"
NS_XML = "http://www.w3.org/XML/1998/namespace"

DEFAULT_TIMEOUT = 5.0          # seconds, any bounded wait
DEFAULT_NOTHING = 0.5          # seconds, "receives nothing"
SERVER_START_TIMEOUT = 10.0    # seconds until the port must accept
SERVER_STOP_TIMEOUT = 5.0      # seconds after SIGTERM before SIGKILL
CHUNK = 65536                  # bytes per write of a generated payload
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))  # tests/scenarios/ -> the repo


class ScenarioError(Exception):
    """A syntax error in a scenario file."""

    def __init__(self, path, line, msg):
        super().__init__("%s:%d: %s" % (path, line, msg))


class Failure(Exception):
    """A failed expectation; `expected`/`received` are shown side by side."""

    def __init__(self, msg, expected=None, received=None, client=None):
        super().__init__(msg)
        self.msg = msg
        self.expected = expected
        self.received = received
        self.client = client


class Skip(Exception):
    pass


# --------------------------------------------------------------------------
# A small element tree (Clark names: "{ns}local")

class El:
    __slots__ = ("tag", "attrs", "children", "text", "nsdecls", "line")

    def __init__(self, tag, attrs=None, nsdecls=None, line=0):
        self.tag = tag
        self.attrs = attrs or {}
        self.children = []
        self.text = ""
        self.nsdecls = nsdecls or {}
        self.line = line

    def find(self, tag):
        for c in self.children:
            if c.tag == tag:
                return c
        return None


def split_ns(name):
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _clark(name):
    # expat with namespace_separator=' ' gives "uri local" or "local"
    if " " in name:
        uri, local = name.split(" ", 1)
        return "{%s}%s" % (uri, local)
    return name


def _esc(s, quote=False):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        s = s.replace("'", "&apos;").replace('"', "&quot;")
    return s


KNOWN_PREFIXES = {NS_STREAM: "stream", NS_XML: "xml", NS_SCN: "scn"}


def to_xml(el, parent_ns=NS_CLIENT, indent=0, pretty=True, maxtext=300, header=False):
    """Serialize for display. Namespaces are written where they change."""
    ns, local = split_ns(el.tag)
    attrs = []
    decl = ""
    if ns in KNOWN_PREFIXES and ns != NS_XML:
        name = "%s:%s" % (KNOWN_PREFIXES[ns], local)
        child_ns = parent_ns
    else:
        name = local
        child_ns = ns
        if ns != parent_ns:
            decl = " xmlns='%s'" % _esc(ns, True)
    if el.nsdecls:
        if "" in el.nsdecls or header:
            decl = ""
        for p, u in sorted(el.nsdecls.items()):
            if p in ("stream", "scn") and not header:
                continue
            decl += " xmlns%s='%s'" % ((":" + p) if p else "", _esc(u or "", True))
    for k, v in el.attrs.items():
        kns, kl = split_ns(k)
        if kns:
            kn = "%s:%s" % (KNOWN_PREFIXES.get(kns, "ns"), kl)
        else:
            kn = kl
        attrs.append(" %s='%s'" % (kn, _esc(v, True)))
    pad = "  " * indent if pretty else ""
    text = el.text.strip() if pretty else el.text
    if len(text) > maxtext:
        text = text[:maxtext] + "...[%d chars]" % len(text)
    head = "%s<%s%s%s" % (pad, name, decl, "".join(attrs))
    if header:
        return head + ">"
    if not el.children and not text:
        return head + "/>"
    if not el.children:
        return "%s>%s</%s>" % (head, _esc(text), name)
    parts = [head + ">"]
    if text:
        parts.append(("  " * (indent + 1) if pretty else "") + _esc(text))
    for c in el.children:
        parts.append(to_xml(c, child_ns, indent + 1, pretty, maxtext))
    parts.append("%s</%s>" % (pad, name))
    return ("\n" if pretty else "").join(parts)


def resolved(el, vars_):
    """A copy of a pattern with the placeholders that have values filled in
    (for display)."""
    def fill(v):
        return PH.sub(lambda m: vars_.get(m.group(1), m.group(0)), v)
    c = El(el.tag, {k: fill(v) for k, v in el.attrs.items()}, dict(el.nsdecls), el.line)
    c.text = fill(el.text)
    c.children = [resolved(x, vars_) for x in el.children]
    return c


def parse_pattern(text, path, line, what="pattern"):
    """Parses scenario XML (one or more elements) with the default namespace
    jabber:client and the prefixes stream: and scn: predeclared."""
    wrapper = ("<scn:w xmlns='%s' xmlns:stream='%s' xmlns:scn='%s'>" % (NS_CLIENT, NS_STREAM, NS_SCN)
               + text + "</scn:w>")
    p = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack = []
    roots = []
    pending = {}

    def nsdecl(prefix, uri):
        pending[prefix or ""] = uri or ""

    def start(name, attrs):
        el = El(_clark(name), {_clark(k): v for k, v in attrs.items()}, dict(pending),
                line=line + p.CurrentLineNumber - 1)
        pending.clear()
        if stack:
            stack[-1].children.append(el)
        stack.append(el)

    def end(name):
        el = stack.pop()
        if len(stack) == 1:
            roots.append(el)

    def chars(data):
        if len(stack) > 1:
            stack[-1].text += data

    p.StartNamespaceDeclHandler = nsdecl
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.buffer_text = True
    try:
        p.Parse(wrapper.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as e:
        raise ScenarioError(path, line + max(e.lineno - 1, 0), "invalid XML in %s: %s" % (what, e))
    for r in roots:
        r.nsdecls = {k: v for k, v in r.nsdecls.items()}
    return roots


# --------------------------------------------------------------------------
# Placeholders: {{name}} captures on first use, must match afterwards.

PH = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def value_regex(expected, vars_):
    """Regex for an expected string with placeholders; returns (regex, names)
    where names[i] is the variable captured by group i+1 (None: no capture)."""
    out = []
    names = []
    groups = {}
    pos = 0
    for m in PH.finditer(expected):
        out.append(re.escape(expected[pos:m.start()]))
        name = m.group(1)
        if name == "*":
            out.append("(?:.*?)")
        elif name in vars_:
            out.append(re.escape(vars_[name]))
        elif name in groups:
            out.append("(?P=%s)" % groups[name])
        else:
            g = "g%d" % len(groups)
            groups[name] = g
            names.append(name)
            out.append("(?P<%s>.+?)" % g)
        pos = m.end()
    out.append(re.escape(expected[pos:]))
    return "".join(out), groups


def match_value(expected, actual, vars_, captured):
    scope = dict(vars_)
    scope.update(captured)
    rx, groups = value_regex(expected, scope)
    m = re.fullmatch(rx, actual, re.S)
    if not m:
        return False
    for name, g in groups.items():
        captured[name] = m.group(g)
    return True


def substitute(text, vars_, path, line, escape=True):
    def rep(m):
        name = m.group(1)
        if name not in vars_:
            raise Failure("%s:%d: placeholder {{%s}} has no value yet" % (path, line, name))
        return _esc(vars_[name], True) if escape else vars_[name]
    return PH.sub(rep, text)


def match_el(exp, act, vars_, captured, check_decls=False):
    """Structural match. Returns None on success (captures added to
    `captured`), else a string saying what differs. `check_decls`: the
    namespace declarations written on the pattern's element must be present
    on the received one (used for the stream header)."""
    if exp.tag != act.tag:
        return "element %s expected, got %s" % (exp.tag, act.tag)
    for k, v in exp.attrs.items():
        if split_ns(k)[0] == NS_SCN:
            continue
        if k not in act.attrs:
            return "<%s/>: attribute %s=%r missing" % (split_ns(exp.tag)[1], k, v)
        if not match_value(v, act.attrs[k], vars_, captured):
            return "<%s/>: attribute %s=%r expected, got %r" % (split_ns(exp.tag)[1], k, v, act.attrs[k])
    no_attr = exp.attrs.get("{%s}no-attr" % NS_SCN)
    if no_attr:
        for k in no_attr.split():
            if k in act.attrs:
                return "<%s/>: attribute %s must be absent, got %r" % (split_ns(exp.tag)[1], k, act.attrs[k])
    if exp.attrs.get("{%s}empty" % NS_SCN) == "true":
        if act.children or act.text.strip():
            return "<%s/> must be empty" % split_ns(exp.tag)[1]
    for p, u in (exp.nsdecls.items() if check_decls else ()):
        if act.nsdecls.get(p) != u:
            return "<%s/>: namespace declaration xmlns%s=%r expected, got %r" % (
                split_ns(exp.tag)[1], (":" + p) if p else "", u, act.nsdecls.get(p))
    et = exp.text.strip()
    if et and not match_value(et, act.text.strip(), vars_, captured):
        return "<%s/>: text %r expected, got %r" % (split_ns(exp.tag)[1], et, act.text.strip())
    present = [c for c in exp.children if c.attrs.get("{%s}absent" % NS_SCN) != "true"]
    absent = [c for c in exp.children if c.attrs.get("{%s}absent" % NS_SCN) == "true"]
    for a in absent:
        for c in act.children:
            if match_el(a, c, vars_, dict(captured)) is None:
                return "<%s/>: child <%s/> must be absent" % (split_ns(exp.tag)[1], split_ns(a.tag)[1])
    why = _match_children(present, act.children, 0, set(), vars_, captured)
    return why


def _match_children(exps, acts, i, used, vars_, captured):
    if i == len(exps):
        return None
    e = exps[i]
    first_why = None
    for j, a in enumerate(acts):
        if j in used or a.tag != e.tag:
            continue
        trial = dict(captured)
        why = match_el(e, a, vars_, trial)
        if why is None:
            rest = _match_children(exps, acts, i + 1, used | {j}, vars_, trial)
            if rest is None:
                captured.clear()
                captured.update(trial)
                return None
            why = rest
        first_why = first_why or why
    if first_why:
        return first_why
    return "child <%s xmlns='%s'/> missing" % (split_ns(e.tag)[1], split_ns(e.tag)[0])


# --------------------------------------------------------------------------
# Connections

class Conn:
    """One TCP connection with an incremental XML reader (expat). Events:
    ('stanza', El) for each complete depth-1 element, ('close',) for the
    server's </stream:stream>, ('eof', reason), ('parse-error', msg)."""

    def __init__(self, name, verbose_out=None, ignore=()):
        self.name = name
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
                _libssl_handle = lib
            except (OSError, AttributeError):
                pass
    return _libssl_handle or None


def tls_exporter(sock):
    """RFC 9266 tls-exporter channel binding of an ssl.SSLSocket (TLS 1.3
    only), or None when this Python cannot compute it. The ssl module
    offers only tls-unique, so this finds the OpenSSL SSL* of CPython's
    _ssl._SSLSocket (struct layout: PyObject_HEAD, weak reference to the
    socket, SSL *) and calls SSL_export_keying_material through ctypes. The
    layout is checked before use: the first field must be the socket's
    weak reference and SSL_get_fd() of the pointer the socket's descriptor."""
    if sys.implementation.name != "cpython" or sock.version() != "TLSv1.3":
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


# --------------------------------------------------------------------------
# Scenario files

DUR = r"(?P<t>\d+(?:\.\d+)?\s*(?:ms|s))"
NAME = r"(?P<c>[A-Za-z][\w-]*)"
WITHIN = r"(?:\s+within\s+%s)?" % DUR

# options of "X authenticates with MECH ..." (see Player.do_sasl)
AUTH_OPT = (r"(?:using password \S+|as \S+|with authzid \S+|with corrupted proof|with wrong channel binding"
            r"|with channel binding [\w.-]+|with flag [ny])")
MECH_RX = r"(?:PLAIN|SCRAM-SHA-(?:1|256|512)(?:-PLUS)?)"

STATEMENTS = [
    ("connect_raw", re.compile(r"^%s connects raw$" % NAME)),
    ("connect_tls_raw", re.compile(r"^%s connects tls raw%s$" % (NAME, WITHIN))),
    ("connect_tls", re.compile(r"^%s connects tls%s$" % (NAME, WITHIN))),
    ("connect", re.compile(r"^%s connects%s$" % (NAME, WITHIN))),
    ("starttls", re.compile(r"^%s starts tls%s$" % (NAME, WITHIN))),
    ("open", re.compile(r"^%s opens stream%s$" % (NAME, WITHIN))),
    ("auth_with", re.compile(r"^%s authenticates with (?P<mech>[A-Za-z0-9_-]+)(?P<opts>(?:\s+%s)*)"
                             r"(?:\s+expecting failure (?P<conds>[\w|-]+)"
                             r"(?:\s+(?P<when>after challenge|without challenge))?)?%s$" % (NAME, AUTH_OPT, WITHIN))),
    ("auth", re.compile(r"^%s authenticates%s$" % (NAME, WITHIN))),
    ("bind", re.compile(r"^%s binds%s$" % (NAME, WITHIN))),
    ("send_raw", re.compile(r"^%s sends raw:\s?(?P<inline>.*)$" % NAME)),
    ("send_big", re.compile(r"^%s sends (?P<n>\d+(?:\.\d+)?)\s*(?P<unit>bytes|B|KiB|KB|MiB|MB) of garbage "
                            r"inside a message(?: to (?P<to>\S+))?%s$" % (NAME, WITHIN))),
    ("send", re.compile(r"^%s sends:\s*(?P<inline>.*)$" % NAME)),
    ("recv_nothing", re.compile(r"^%s receives nothing%s$" % (NAME, WITHIN))),
    ("recv_header", re.compile(r"^%s receives stream header%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("recv_error", re.compile(r"^%s receives stream error%s:\s*(?P<conds>[\w|-]+)$" % (NAME, WITHIN))),
    ("recv_any", re.compile(r"^%s receives in any order%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("recv", re.compile(r"^%s receives%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("features", re.compile(r"^%s has features:\s*(?P<inline>.*)$" % NAME)),
    ("disconnected", re.compile(r"^%s is disconnected%s$" % (NAME, WITHIN))),
    ("disconnects", re.compile(r"^%s disconnects%s$" % (NAME, WITHIN))),
    ("drops", re.compile(r"^%s drops connection$" % NAME)),
    ("server_stops", re.compile(r"^server stops$")),
    ("server_exits", re.compile(r"^server exits%s$" % WITHIN)),
    ("server_restarts", re.compile(r"^server restarts%s$" % WITHIN)),
    ("wait", re.compile(r"^wait %s$" % DUR)),
    ("check", re.compile(r"^check (?P<a>\S+) (?P<op>==|!=) (?P<b>\S+)$")),
]
BLOCK_KINDS = {"send", "send_raw", "recv", "recv_any", "recv_header", "features"}
CLIENT_KEYS = ("jid", "password", "resource", "ignore", "tls", "mechanism", "channel-binding",
               "tls-version", "sni", "source")
CLIENT_CHOICES = {  # value regex, what it means (for the error message)
    "tls": (r"none|starttls|direct", "none, starttls or direct"),
    "mechanism": (MECH_RX, "PLAIN or SCRAM-SHA-1/256/512, optionally -PLUS"),
    "channel-binding": (r"tls-exporter|tls-server-end-point|tls-unique",
                        "tls-exporter, tls-server-end-point or tls-unique"),
    "tls-version": (r"1\.2|1\.3", "1.2 or 1.3"),
    "source": (r"[0-9.]+|[0-9a-fA-F:]+", "an IP address"),
    "sni": (r"\S+", "a host name or none"),
}
HEADER_KEYS = {"config", "timeout", "attach", "domain", "title"}


def parse_duration(s):
    s = s.strip()
    if s.endswith("ms"):
        return float(s[:-2]) / 1000.0
    return float(s.rstrip("s").strip())


class Statement:
    def __init__(self, kind, line, m, block, raw_text):
        self.kind = kind
        self.line = line
        self.m = m
        self.block = block  # str or None
        self.block_line = line + 1
        self.text = raw_text
        self.patterns = None


class Scenario:
    def __init__(self, path, rel):
        self.path = path
        self.rel = rel
        self.title = ""
        self.config = "default.toml"
        self.timeout = DEFAULT_TIMEOUT
        self.attach = ""
        self.domain = "localhost"
        self.clients = {}   # name -> dict(jid, password, resource)
        self.statements = []

    @property
    def stops_server(self):
        return any(s.kind in ("server_stops", "server_exits", "server_restarts") for s in self.statements)


def unescape_raw(text):
    """Raw blocks: \\n \\r \\t \\\\ \\xNN are interpreted; the rest is UTF-8."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "n":
                out += b"\n"; i += 2; continue
            if n == "r":
                out += b"\r"; i += 2; continue
            if n == "t":
                out += b"\t"; i += 2; continue
            if n == "\\":
                out += b"\\"; i += 2; continue
            if n == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16)); i += 4; continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def parse_scenario(path, rel):
    sc = Scenario(path, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    current_client = None
    seen_statement = False
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        stripped = raw.strip()
        i += 1
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not sc.title and not seen_statement and not sc.clients:
                sc.title = stripped.lstrip("#").strip()
            continue
        if raw[0] in " \t":
            if current_client is not None:
                k, sep, v = stripped.partition(":")
                k = k.strip().lower()
                v = v.strip()
                if not sep or k not in CLIENT_KEYS:
                    raise ScenarioError(path, lineno, "client property must be one of %s" % ", ".join(
                        k + ":" for k in CLIENT_KEYS))
                if k == "ignore" and not set(v.split()) <= {"presence", "message", "iq"}:
                    raise ScenarioError(path, lineno, "ignore: takes stanza kinds (presence, message, iq)")
                if k in CLIENT_CHOICES and not re.fullmatch(CLIENT_CHOICES[k][0], v):
                    raise ScenarioError(path, lineno, "%s: %r is not %s" % (k, v, CLIENT_CHOICES[k][1]))
                sc.clients[current_client][k] = v
                continue
            raise ScenarioError(path, lineno, "unexpected indented line")
        current_client = None
        if re.fullmatch(r"-{3,}", stripped):
            continue
        m = re.match(r"^\[client\]\s+([A-Za-z][\w-]*)$", stripped, re.I)
        if m:
            name = m.group(1)
            if name in sc.clients or name == "server":
                raise ScenarioError(path, lineno, "client %r declared twice (or reserved)" % name)
            sc.clients[name] = {"line": lineno}
            current_client = name
            continue
        k, sep, v = stripped.partition(":")
        if sep and k.strip().lower() in HEADER_KEYS and not seen_statement and " " not in k.strip():
            key = k.strip().lower()
            v = v.strip()
            if key == "config":
                sc.config = v
            elif key == "timeout":
                sc.timeout = parse_duration(v)
            elif key == "attach":
                sc.attach = v
            elif key == "domain":
                sc.domain = v
            elif key == "title":
                sc.title = v
            continue
        for kind, rx in STATEMENTS:
            m = rx.match(stripped)
            if m:
                break
        else:
            raise ScenarioError(path, lineno, "unknown statement: %r" % stripped)
        if "c" in rx.groupindex and m.group("c") not in sc.clients:
            raise ScenarioError(path, lineno, "unknown client %r (declare it with [client] %s)" % (
                m.group("c"), m.group("c")))
        seen_statement = True
        block = None
        if kind in BLOCK_KINDS:
            inline = m.group("inline") if "inline" in rx.groupindex else ""
            blines = []
            while i < len(lines) and (not lines[i].strip() or lines[i][0] in " \t"):
                blines.append(lines[i])
                i += 1
            while blines and not blines[-1].strip():
                blines.pop()
            if inline and blines:
                raise ScenarioError(path, lineno, "both an inline value and an indented block")
            if inline:
                block = inline
            elif blines:
                block = textwrap.dedent("\n".join(blines))
            else:
                raise ScenarioError(path, lineno, "statement needs an indented block (or inline text)")
            st = Statement(kind, lineno, m, block, stripped)
            st.block_line = lineno if inline else lineno + 1
            if kind in ("recv", "recv_any", "recv_header", "features"):
                xml_text = "\n".join(l for l in block.split("\n") if not l.strip().startswith("#"))
                st.patterns = parse_pattern(xml_text, path, st.block_line)
                if not st.patterns:
                    raise ScenarioError(path, lineno, "empty pattern")
            elif kind == "send":
                xml_text = "\n".join(l for l in block.split("\n") if not l.strip().startswith("#"))
                st.block = xml_text
                parse_pattern(PH.sub("x", xml_text), path, st.block_line, "sends")
            sc.statements.append(st)
        else:
            sc.statements.append(Statement(kind, lineno, m, None, stripped))
    for name, c in sc.clients.items():
        if "jid" not in c:
            raise ScenarioError(path, c["line"], "client %s has no jid:" % name)
    if not sc.statements:
        raise ScenarioError(path, 1, "no statements")
    return sc


# --------------------------------------------------------------------------
# Test certificates (made once per run, on first use)

# placeholder -> (subject CN, subjectAltName DNS names)
CERT_SPECS = {
    "CERT": ("localhost", ("localhost", "other.localhost")),
    "CERT2": ("other.localhost", ("other.localhost",)),
}
_certs = None
_certs_lock = threading.Lock()


def test_certificates():
    """Self-signed certificates for the scenario domains, made once per run
    in a temporary directory (removed at exit): {"CERT": {"cert": path,
    "key": path, "sha256": hex digest of the DER certificate}, "CERT2": ...}.
    @CERT@/@KEY@ in a config are the first (CN=localhost, SAN localhost and
    other.localhost), @CERT2@/@KEY2@ the second (CN=other.localhost)."""
    global _certs
    with _certs_lock:
        if _certs is not None:
            return _certs
        d = tempfile.mkdtemp(prefix="dja-scenario-certs-")
        atexit.register(shutil.rmtree, d, True)
        out = {}
        for name, (cn, sans) in CERT_SPECS.items():
            cert = os.path.join(d, name.lower() + ".pem")
            key = os.path.join(d, name.lower() + ".key")
            cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                   "-keyout", key, "-out", cert, "-subj", "/CN=%s" % cn,
                   "-addext", "subjectAltName=%s" % ",".join("DNS:" + n for n in sans)]
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise Failure("cannot make a test certificate (%s): %s" % (" ".join(cmd), e))
            if r.returncode != 0:
                raise Failure("cannot make a test certificate (%s): %s" % (
                    " ".join(cmd), r.stdout.decode("utf-8", "replace").strip()[-500:]))
            with open(cert, encoding="ascii") as f:
                der = ssl.PEM_cert_to_DER_cert(f.read())
            out[name] = {"cert": cert, "key": key, "sha256": hashlib.sha256(der).hexdigest(), "cn": cn}
        _certs = out
        return _certs


# --------------------------------------------------------------------------
# The server process

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def find_config(sc, extra_dirs):
    name = sc.config
    cands = []
    d = os.path.dirname(sc.path)
    for _ in range(5):
        cands.append(os.path.join(d, "configs", name))
        nd = os.path.dirname(d)
        if nd == d:
            break
        d = nd
    for x in extra_dirs:
        cands.append(os.path.join(x, name))
    for c in cands:
        if os.path.isfile(c):
            return c
    raise Failure("config %r not found (looked in %s)" % (name, ", ".join(cands[:3])))


class Server:
    def __init__(self, binary, config_template, keep=False):
        self.binary = binary
        self.template = config_template
        self.keep = keep
        self.proc = None
        self.tmp = None
        self.port = None
        self.tls_port = None    # second listener (@TLS_PORT@), direct TLS
        self.certs = None       # test_certificates() when the config uses @CERT@ etc.
        self.log_path = None
        self.logf = None
        self.stop_requested = False

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="dja-scenario-")
        data = os.path.join(self.tmp, "data")
        os.mkdir(data)
        with open(self.template, encoding="utf-8") as f:
            text = f.read()
        if re.search(r"@(CERT2?|KEY2?)@", text):
            self.certs = test_certificates()
            for name, c in self.certs.items():
                text = text.replace("@%s@" % name, c["cert"]).replace("@%s@" % name.replace("CERT", "KEY"), c["key"])
        last_err = None
        for _attempt in range(3):
            self.port = free_port()
            cfg = text.replace("@PORT@", str(self.port)).replace("@DATA_DIR@", data)
            if "@TLS_PORT@" in cfg:
                self.tls_port = free_port()
                while self.tls_port == self.port:
                    self.tls_port = free_port()
                cfg = cfg.replace("@TLS_PORT@", str(self.tls_port))
            ports = [p for p in (self.port, self.tls_port) if p]
            cfg_path = os.path.join(self.tmp, "server.toml")
            with open(cfg_path, "w", encoding="utf-8") as f:
                f.write(cfg)
            self.log_path = os.path.join(self.tmp, "server.log")
            if self.logf:
                self.logf.close()
            self.logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen([self.binary, "--config", cfg_path], cwd=self.tmp,
                                         stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline and ports:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", ports[0]), timeout=0.5).close()
                    ports.pop(0)
                except OSError:
                    time.sleep(0.02)
            if not ports:
                return
            rc = self.proc.poll()
            last_err = ("server exited with status %s during start" % rc if rc is not None
                        else "server did not accept connections on 127.0.0.1:%d within %.0fs"
                        % (ports[0], SERVER_START_TIMEOUT))
            self.kill()
            if rc is None:
                break
            if "address" not in self.log_tail(20).lower():  # retry only on a port race
                break
        raise Failure(last_err)

    def restart(self, deadline):
        """SIGTERM, wait for exit status 0, then start the same binary again with
        the same config file (same port(s), same data dir). Appends to server.log."""
        self.signal_term()
        rc = self.wait_exit(max(0.0, min(deadline - time.monotonic(), SERVER_STOP_TIMEOUT)))
        if rc is None:
            self.kill()
            raise Failure("server restarts: the server did not exit after SIGTERM (killed)")
        if rc != 0:
            raise Failure("server restarts: the server exited with status %s (expected 0)" % rc)
        cfg_path = os.path.join(self.tmp, "server.toml")
        ports = [p for p in (self.port, self.tls_port) if p]
        while True:
            self.proc = subprocess.Popen([self.binary, "--config", cfg_path], cwd=self.tmp,
                                         stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
            self.stop_requested = False
            start_dl = min(deadline, time.monotonic() + SERVER_START_TIMEOUT)
            while time.monotonic() < start_dl and ports and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", ports[0]), timeout=0.5).close()
                    ports.pop(0)
                except OSError:
                    time.sleep(0.02)
            if not ports:
                return
            rc = self.proc.poll()
            # the old process's port may linger for a moment: retry a bind failure until the deadline
            if rc is not None and "address" in self.log_tail(20).lower() and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            self.kill()
            raise Failure("server restarts: %s" % ("the server exited with status %s during start" % rc
                                                   if rc is not None else
                                                   "the server did not accept connections again in time"))

    def signal_term(self):
        self.stop_requested = True
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL. Returns a problem description or None."""
        problem = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(SERVER_STOP_TIMEOUT) is None:
                problem = "server did not exit within %.0fs after SIGTERM (killed)" % SERVER_STOP_TIMEOUT
                self.kill()
        rc = self.proc.returncode
        if rc is not None and rc < 0 and -rc not in (signal.SIGTERM, signal.SIGKILL):
            problem = problem or "server died with signal %d" % -rc
        if self.logf:
            self.logf.close()
            self.logf = None
        return problem

    def log_tail(self, n=40):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            try:
                f.seek(-200000, os.SEEK_END)
            except OSError:
                pass
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])

    def cleanup(self):
        if self.tmp and not self.keep:
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Playing a scenario

def side_by_side(left, right, lt="expected", rt="received"):
    l_lines = left.split("\n") if left else ["(nothing)"]
    r_lines = right.split("\n") if right else ["(nothing)"]
    width = min(max([len(x) for x in l_lines] + [len(lt)]) + 2, 96)
    out = ["  %-*s | %s" % (width, lt, rt), "  %s-+-%s" % ("-" * width, "-" * 40)]
    for i in range(max(len(l_lines), len(r_lines))):
        a = l_lines[i] if i < len(l_lines) else ""
        b = r_lines[i] if i < len(r_lines) else ""
        if len(a) > width:
            # too long to align: print the rest on its own line
            out.append("  %-*s | %s" % (width, a[:width], b))
            rest = a[width:]
            while rest:
                out.append("  %-*s |" % (width, rest[:width]))
                rest = rest[width:]
        else:
            out.append("  %-*s | %s" % (width, a, b))
    return "\n".join(out)


class Player:
    def __init__(self, sc, host, port, server, verbose_out=None, tls_port=None):
        self.sc = sc
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self.server = server
        self.verbose_out = verbose_out
        self.vars = {"domain": sc.domain}
        if server is not None and server.certs:
            for cname, cert in server.certs.items():
                self.vars["%s.sha256" % cname.lower()] = cert["sha256"]
        self.conns = {}
        for name, c in sc.clients.items():
            jid = c["jid"]
            user, _, dom = jid.partition("@")
            if not dom:
                user, dom = "", user
            dom = dom.split("/")[0]
            c["user"], c["domain"] = user, dom
            self.vars["%s.jid" % name] = "%s@%s" % (user, dom) if user else dom
            self.vars["%s.user" % name] = user
            self.vars["%s.domain" % name] = dom
            self.vars["%s.password" % name] = c.get("password", "")
            if c.get("resource"):
                self.vars["%s.resource" % name] = c["resource"]

    def conn(self, name, must_exist=True):
        c = self.conns.get(name)
        if c is None and must_exist:
            raise Failure("%s is not connected (use '%s connects' or '%s connects raw')" % (name, name, name))
        return c

    def deadline(self, st, default=None):
        t = st.m.groupdict().get("t")
        return time.monotonic() + (parse_duration(t) if t else (default if default is not None else self.sc.timeout))

    # stream steps ------------------------------------------------------------
    def do_connect_raw(self, name, deadline, port=None):
        old = self.conns.get(name)
        if old:
            old.close()
        cl = self.sc.clients[name]
        c = Conn(name, self.verbose_out, cl.get("ignore", "").split())
        self.conns[name] = c
        c.connect(self.host, self.port if port is None else port, deadline, cl.get("source"))
        return c

    def tls_setup(self, name, c, deadline):
        cl = self.sc.clients[name]
        sni = cl.get("sni", cl["domain"])
        c.start_tls(None if sni == "none" else sni, deadline, cl.get("tls-version"))
        self.vars["%s.tls_version" % name] = c.tls["version"]
        self.vars["%s.tls_cert_sha256" % name] = c.tls["cert_sha256"]

    def do_connect_tls(self, name, deadline, open_stream=True):
        """Direct TLS (XEP-0368): TCP to the @TLS_PORT@ listener, handshake,
        then (open_stream) the stream header and features."""
        if self.tls_port is None:
            if self.server is None:
                raise Skip("needs the direct TLS port of its own server")
            raise Failure("%s: the config has no direct TLS listener (port = @TLS_PORT@)" % name)
        c = self.do_connect_raw(name, deadline, self.tls_port)
        self.tls_setup(name, c, deadline)
        if open_stream:
            self.do_open(name, deadline)
        return c

    def do_starttls(self, name, deadline):
        """RFC 6120 §5.4: <starttls/>, <proceed/>, TLS handshake on the same
        socket, stream restart (header and features)."""
        c = self.conn(name)
        if c.tls:
            raise Failure("%s: TLS is already on (use 'sends:' to test a second <starttls/>)" % name)
        c.send("<starttls xmlns='%s'/>" % NS_TLS, deadline)
        self.expect_stanza(c, El("{%s}proceed" % NS_TLS), deadline, "STARTTLS: no <proceed/>")
        if c.events:
            raise Failure("%s: data after <proceed/> before the TLS handshake" % name,
                          "(TLS handshake)", describe_event(c.events[0]), client=name)
        self.tls_setup(name, c, deadline)
        self.do_open(name, deadline)
        return c

    def do_open(self, name, deadline):
        c = self.conn(name)
        c.reset_stream()
        want = c.headers_seen + 1
        c.send(stream_header(self.sc.clients[name]["domain"]), deadline)
        c.wait_header(want, deadline)
        self.check_header_is_stream(c)
        ev = c.next_event(deadline)
        if ev is None or ev[0] != "stanza" or ev[1].tag != "{%s}features" % NS_STREAM:
            raise Failure("%s: expected <stream:features/> after the stream header" % name,
                          "<stream:features/>", describe_event(ev), client=name)
        c.features = ev[1]
        # in offer order, comma-separated (for `check`): SASL mechanisms and
        # XEP-0440 channel-binding types
        mechs = c.features.find("{%s}mechanisms" % NS_SASL)
        self.vars["%s.mechanisms" % name] = ",".join(
            m.text.strip() for m in (mechs.children if mechs is not None else ())
            if m.tag == "{%s}mechanism" % NS_SASL) or "none"
        cbs = c.features.find("{%s}sasl-channel-binding" % NS_SASL_CB)
        self.vars["%s.channel_bindings" % name] = ",".join(
            x.attrs.get("type", "?") for x in (cbs.children if cbs is not None else ())) or "none"
        return c

    def check_header_is_stream(self, c):
        if c.header is not None and c.header.tag != "{%s}stream" % NS_STREAM:
            raise Failure("%s: the server's first element is not <stream:stream/>" % c.name,
                          "<stream:stream xmlns:stream='%s'>" % NS_STREAM, to_xml(c.header, header=True),
                          client=c.name)

    def expect_stanza(self, c, pattern, deadline, what):
        ev = c.next_event(deadline)
        shown = to_xml(resolved(pattern, self.vars))
        if ev is None or ev[0] != "stanza":
            raise Failure("%s: %s" % (c.name, what if ev is None else what + " (got %s instead)" % (
                "the end of the stream" if ev[0] in ("close", "eof") else "unparsable data")),
                shown, describe_event(ev), client=c.name)
        captured = {}
        why = match_el(pattern, ev[1], self.vars, captured)
        if why:
            raise Failure("%s: received stanza does not match: %s" % (c.name, why),
                          shown, to_xml(ev[1]), client=c.name)
        self.vars.update(captured)
        return ev[1]

    def do_auth(self, name, deadline):
        """SASL with the client's `mechanism:` (default PLAIN), success
        expected, then the stream restart."""
        self.do_sasl(name, deadline, self.sc.clients[name].get("mechanism", "PLAIN"))

    def do_sasl(self, name, deadline, mech, password=None, user=None, authzid=None, corrupt_proof=False,
                wrong_cb=False, cb_type=None, flag=None, expect=None, when=None):
        """One SASL exchange (RFC 6120 §6.4). PLAIN (RFC 4616) or SCRAM
        (RFC 5802 / 7677; -PLUS with channel binding). `expect`: the failure
        conditions accepted (None: success expected: the server signature
        is verified and the stream restarted); `when`: 'after challenge' /
        'without challenge' (where the failure must come). The manipulations
        (corrupt_proof, wrong_cb, cb_type, flag) provoke failures."""
        c = self.conn(name)
        cl = self.sc.clients[name]
        user = cl["user"] if user is None else user
        password = cl.get("password") if password is None else password
        if password is None:
            raise Failure("client %s has no password:" % name)
        self.vars["%s.mechanism" % name] = mech
        label = "SASL %s" % mech

        def sasl_el(local):
            return El("{%s}%s" % (NS_SASL, local))

        def next_sasl(step):
            ev = c.next_event(deadline)
            if ev is None or ev[0] != "stanza" or split_ns(ev[1].tag)[0] != NS_SASL:
                raise Failure("%s: %s: no SASL answer to %s" % (name, label, step),
                              "<success/>, <challenge/> or <failure/> (%s)" % NS_SASL, describe_event(ev),
                              client=name)
            return ev[1]

        def failed(el, challenged):
            got = [split_ns(x.tag)[1] for x in el.children if split_ns(x.tag)[1] != "text"]
            cond = got[0] if got else "(no condition)"
            self.vars["%s.sasl_failure" % name] = cond
            exp_text = "<failure xmlns='%s'><%s/></failure>" % (NS_SASL, " | ".join(expect or ["(success)"]))
            if expect is None:
                raise Failure("%s: %s failed" % (name, label), "<success xmlns='%s'/>" % NS_SASL,
                              to_xml(el), client=name)
            if cond not in expect:
                raise Failure("%s: %s: wrong failure condition" % (name, label), exp_text, to_xml(el),
                              client=name)
            if when == "after challenge" and not challenged:
                raise Failure("%s: %s: failure without a challenge first (expected at the proof)" % (
                    name, label), exp_text, to_xml(el), client=name)
            if when == "without challenge" and challenged:
                raise Failure("%s: %s: failure only after a challenge (expected right after <auth/>)" % (
                    name, label), exp_text, to_xml(el), client=name)

        def unexpected(el, step):
            exp_text = ("<failure xmlns='%s'><%s/></failure>" % (NS_SASL, " | ".join(expect)) if expect
                        else "<success xmlns='%s'/>" % NS_SASL)
            raise Failure("%s: %s: unexpected answer to %s" % (name, label, step), exp_text, to_xml(el),
                          client=name)

        def succeeded():
            self.vars.pop("%s.sasl_failure" % name, None)
            self.do_open(name, deadline)

        if mech == "PLAIN" or not re.fullmatch(MECH_RX, mech):
            data = "" if mech != "PLAIN" else b64("%s\0%s\0%s" % (authzid or "", user, password))
            c.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, _esc(mech, True), data), deadline)
            el = next_sasl("<auth/>")
            if el.tag == "{%s}failure" % NS_SASL:
                return failed(el, False)
            if el.tag != "{%s}success" % NS_SASL or expect:
                unexpected(el, "<auth/>")
            return succeeded()

        # --- SCRAM
        plus = mech.endswith("-PLUS")
        hname = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}[
            mech[len("SCRAM-"):-len("-PLUS") if plus else None]]
        cbdata = b""
        if plus:
            cb_type = cb_type or cl.get("channel-binding")
            if cb_type is None:
                cb_type = "tls-exporter" if channel_binding(c, "tls-exporter") is not None else "tls-server-end-point"
            data = channel_binding(c, cb_type)
            if data is None:
                if c.tls and cb_type == "tls-exporter" and c.tls["version"] == "TLSv1.3":
                    raise Skip("this Python cannot compute the tls-exporter channel binding")
                # no TLS, or a type not defined here: random bytes (the server must refuse them)
                data = os.urandom(32)
            cbdata = data
            gs2_flag = flag or "p=" + cb_type
        else:
            gs2_flag = flag or "n"
        self.vars["%s.cb_type" % name] = cb_type if plus else "none"
        gs2 = "%s,%s," % (gs2_flag, ("a=" + scram_saslname(authzid)) if authzid else "")
        cnonce = b64(os.urandom(18))
        bare = "n=%s,r=%s" % (scram_saslname(user), cnonce)
        c.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, mech, b64(gs2 + bare)), deadline,
               logtext="<auth xmlns='%s' mechanism='%s'>%s</auth>   [%s]" % (NS_SASL, mech, b64(gs2 + bare),
                                                                            gs2 + bare))
        el = next_sasl("<auth/>")
        if el.tag == "{%s}failure" % NS_SASL:
            return failed(el, False)
        if el.tag != "{%s}challenge" % NS_SASL:
            unexpected(el, "<auth/> (a SCRAM server-first-message was expected)")
        try:
            server_first = base64.b64decode(el.text.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise Failure("%s: %s: the challenge is not base64 of UTF-8" % (name, label), "<challenge>BASE64</challenge>",
                          to_xml(el), client=name)
        c.log("--", "server-first-message: %s" % server_first)
        attrs = {}
        for field in server_first.split(","):
            if len(field) >= 2 and field[1] == "=":
                attrs.setdefault(field[0], field[2:])
        try:
            salt = base64.b64decode(attrs.get("s", ""), validate=True)
            iterations = int(attrs.get("i", ""))
        except ValueError:
            salt, iterations = b"", 0
        nonce = attrs.get("r", "")
        if not nonce.startswith(cnonce) or len(nonce) <= len(cnonce) or not salt or iterations <= 0 \
                or server_first.startswith("m="):
            raise Failure("%s: %s: malformed server-first-message (RFC 5802 §7: r=client nonce + server nonce, "
                          "s=base64 salt, i=iterations)" % (name, label), "r=%s...,s=...,i=..." % cnonce,
                          server_first, client=name)
        self.vars["%s.scram_salt" % name] = attrs["s"]
        self.vars["%s.scram_iterations" % name] = str(iterations)
        cbind = gs2.encode("utf-8") + cbdata
        if wrong_cb:
            if plus:
                cbind = gs2.encode("utf-8") + bytes([cbdata[0] ^ 0x01]) + cbdata[1:]
            else:
                other = "y" if gs2_flag == "n" else "n"
                cbind = ("%s,%s" % (other, gs2.split(",", 1)[1])).encode("utf-8")
        without_proof = "c=%s,r=%s" % (b64(cbind), nonce)
        salted = hashlib.pbkdf2_hmac(hname, password.encode("utf-8"), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hname).digest()
        stored_key = hashlib.new(hname, client_key).digest()
        auth_message = ("%s,%s,%s" % (bare, server_first, without_proof)).encode("utf-8")
        client_sig = hmac.new(stored_key, auth_message, hname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
        if corrupt_proof:
            proof = bytes([proof[0] ^ 0x80]) + proof[1:]
        server_key = hmac.new(salted, b"Server Key", hname).digest()
        server_sig = hmac.new(server_key, auth_message, hname).digest()
        final = "%s,p=%s" % (without_proof, b64(proof))
        c.send("<response xmlns='%s'>%s</response>" % (NS_SASL, b64(final)), deadline,
               logtext="<response xmlns='%s'>%s</response>   [%s]" % (NS_SASL, b64(final), final))
        el = next_sasl("the client-final-message")
        if el.tag == "{%s}failure" % NS_SASL:
            return failed(el, True)
        if expect:
            unexpected(el, "the client-final-message")
        additional = el.text.strip()
        if el.tag == "{%s}challenge" % NS_SASL:
            # RFC 6120 §6.3.10: server-final-message in a challenge, then an
            # empty response and an empty <success/>
            c.send("<response xmlns='%s'/>" % NS_SASL, deadline)
            el2 = next_sasl("the empty response")
            if el2.tag != "{%s}success" % NS_SASL:
                unexpected(el2, "the empty response")
        elif el.tag != "{%s}success" % NS_SASL:
            unexpected(el, "the client-final-message")
        try:
            server_final = base64.b64decode(additional, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            server_final = None
        if not additional or server_final is None:
            raise Failure("%s: %s: no server-final-message (base64 'v=...') with the success (RFC 5802 §5.1; "
                          "RFC 6120 §6.3.10)" % (name, label), "<success>base64(v=...)</success>", to_xml(el),
                          client=name)
        c.log("--", "server-final-message: %s" % server_final)
        if server_final.startswith("e="):
            raise Failure("%s: %s: success carries a server error %r" % (name, label, server_final), client=name)
        expect_v = "v=" + b64(server_sig)
        if not server_final.startswith("v=") or not hmac.compare_digest(
                server_final.split(",")[0].encode("utf-8"), expect_v.encode("ascii")):
            raise Failure("%s: %s: wrong server signature: the server does not know the password (RFC 5802 §5.1)"
                          % (name, label), expect_v, server_final, client=name)
        return succeeded()

    def do_bind(self, name, deadline):
        c = self.conn(name)
        res = self.sc.clients[name].get("resource")
        inner = "<resource>%s</resource>" % _esc(res) if res else ""
        c.send("<iq type='set' id='scn-bind'><bind xmlns='%s'>%s</bind></iq>" % (NS_BIND, inner), deadline)
        pat = parse_pattern("<iq type='result' id='scn-bind'><bind xmlns='%s'><jid>{{*}}</jid></bind></iq>"
                            % NS_BIND, "<builtin>", 1)[0]
        el = self.expect_stanza(c, pat, deadline, "no answer to the resource bind request")
        full = el.find("{%s}bind" % NS_BIND).find("{%s}jid" % NS_BIND).text.strip()
        if "/" not in full or not full.split("/", 1)[1]:
            raise Failure("%s: bound JID %r has no resourcepart (RFC 6120 §7.6)" % (name, full),
                          to_xml(pat), to_xml(el), client=name)
        self.vars["%s.full" % name] = full
        self.vars["%s.resource" % name] = full.split("/", 1)[1] if "/" in full else ""

    def wait_closed(self, c, deadline, need_close_tag=True):
        while not c.eof:
            if time.monotonic() >= deadline:
                break
            c.pump(deadline)
        stanzas = [e for e in c.events if e[0] == "stanza"]
        c.events.clear()
        return stanzas

    # statements ---------------------------------------------------------------
    def run_statement(self, st):
        k = st.kind
        name = st.m.groupdict().get("c")
        if k == "connect_raw":
            self.do_connect_raw(name, self.deadline(st))
        elif k == "connect":
            dl = self.deadline(st)
            mode = self.sc.clients[name].get("tls", "none")
            if mode == "direct":
                self.do_connect_tls(name, dl)
            else:
                self.do_connect_raw(name, dl)
                self.do_open(name, dl)
                if mode == "starttls":
                    self.do_starttls(name, dl)
            self.do_auth(name, dl)
            self.do_bind(name, dl)
        elif k == "connect_tls":
            self.do_connect_tls(name, self.deadline(st))
        elif k == "connect_tls_raw":
            self.do_connect_tls(name, self.deadline(st), open_stream=False)
        elif k == "starttls":
            self.do_starttls(name, self.deadline(st))
        elif k == "open":
            self.do_open(name, self.deadline(st))
        elif k == "auth":
            self.do_auth(name, self.deadline(st))
        elif k == "auth_with":
            self.run_auth_with(st, name)
        elif k == "bind":
            self.do_bind(name, self.deadline(st))
        elif k == "send":
            c = self.conn(name)
            text = substitute(st.block, self.vars, self.sc.rel, st.line)
            c.send(text, self.deadline(st))
        elif k == "send_raw":
            c = self.conn(name)
            data = unescape_raw(substitute(st.block, self.vars, self.sc.rel, st.line, escape=False))
            if b"<stream:stream" in data or data.lstrip().startswith(b"<?xml"):
                c.reset_stream()
            c.send(data, self.deadline(st))
        elif k == "send_big":
            self.do_send_big(st, name)
        elif k == "recv":
            c = self.conn(name)
            dl = self.deadline(st)
            for p in st.patterns:
                el = self.expect_stanza(c, p, dl, "expected stanza not received within the time limit")
                if el.tag == "{%s}features" % NS_STREAM:
                    c.features = el
        elif k == "recv_any":
            # the next len(patterns) stanzas must match the patterns, each a different one, in any order
            c = self.conn(name)
            dl = self.deadline(st)
            left = list(st.patterns)
            while left:
                ev = c.next_event(dl)
                shown = "\n".join(to_xml(resolved(p, self.vars)) for p in left)
                if ev is None or ev[0] != "stanza":
                    raise Failure("%s: expected stanzas not received within the time limit" % name
                                  if ev is None else "%s: expected stanzas, got %s" % (
                                      name, "the end of the stream" if ev[0] in ("close", "eof")
                                      else "unparsable data"), shown, describe_event(ev), client=name)
                whys = []
                for i, p in enumerate(left):
                    captured = {}
                    why = match_el(p, ev[1], self.vars, captured)
                    if not why:
                        self.vars.update(captured)
                        del left[i]
                        break
                    whys.append(why)
                else:
                    raise Failure("%s: received stanza matches none of the remaining patterns (%s)"
                                  % (name, "; ".join(whys)), shown, to_xml(ev[1]), client=name)
        elif k == "recv_nothing":
            c = self.conn(name)
            dl = self.deadline(st, DEFAULT_NOTHING)
            ev = c.next_event(dl)
            if ev is not None:
                raise Failure("%s: expected nothing, but received something" % name,
                              "(nothing)", describe_event(ev), client=name)
            if c.eof:
                raise Failure("%s: expected nothing, but the connection is closed" % name, client=name)
        elif k == "recv_header":
            c = self.conn(name)
            dl = self.deadline(st)
            c.wait_header(max(1, c.headers_seen), dl)
            pat = st.patterns[0]
            captured = {}
            why = match_el(pat, c.header, self.vars, captured, check_decls=True)
            if why:
                raise Failure("%s: stream header does not match: %s" % (name, why),
                              to_xml(resolved(pat, self.vars), header=True), to_xml(c.header, header=True), client=name)
            self.vars.update(captured)
        elif k == "features":
            c = self.conn(name)
            if c.features is None:
                raise Failure("%s: no <stream:features/> received yet" % name, client=name)
            captured = {}
            why = match_el(st.patterns[0], c.features, self.vars, captured)
            if why:
                raise Failure("%s: stream features do not match: %s" % (name, why),
                              to_xml(resolved(st.patterns[0], self.vars)), to_xml(c.features), client=name)
            self.vars.update(captured)
        elif k == "recv_error":
            self.do_recv_error(st, name)
        elif k == "disconnected":
            c = self.conn(name)
            stanzas = self.wait_closed(c, self.deadline(st))
            if stanzas:
                raise Failure("%s: stanzas received while waiting for the disconnection" % name,
                              "(connection closed)", "\n".join(to_xml(s[1]) for s in stanzas), client=name)
            if not c.eof:
                raise Failure("%s: the server did not close the connection within the time limit" % name,
                              client=name)
            c.close()
        elif k == "disconnects":
            c = self.conn(name)
            dl = self.deadline(st)
            c.send("</stream:stream>", dl)
            while not c.eof and not c.closed_tag and time.monotonic() < dl:
                c.pump(dl)
            closed_tag = c.closed_tag
            self.wait_closed(c, dl)
            if not closed_tag:
                raise Failure("%s: the server did not answer </stream:stream> with its own closing tag "
                              "(RFC 6120 §4.4)" % name, client=name)
            if not c.eof:
                raise Failure("%s: the server did not close the TCP connection after the streams were closed"
                              % name, client=name)
            c.close()
        elif k == "drops":
            c = self.conn(name)
            c.log("--", "client drops the TCP connection")
            c.close()
        elif k == "server_stops":
            if self.server is None:
                raise Skip("needs its own server")
            self.server.signal_term()
        elif k == "server_restarts":
            if self.server is None:
                raise Skip("needs its own server")
            self.server.restart(self.deadline(st, 15.0))
        elif k == "server_exits":
            if self.server is None:
                raise Skip("needs its own server")
            rc = self.server.wait_exit(max(0.0, self.deadline(st) - time.monotonic()))
            if rc is None:
                raise Failure("the server did not exit within the time limit")
            if rc != 0:
                raise Failure("the server exited with status %s (expected 0)" % rc)
        elif k == "wait":
            time.sleep(parse_duration(st.m.group("t")))
        elif k == "check":
            a = substitute(st.m.group("a"), self.vars, self.sc.rel, st.line, escape=False)
            b = substitute(st.m.group("b"), self.vars, self.sc.rel, st.line, escape=False)
            if (a == b) != (st.m.group("op") == "=="):
                raise Failure("check failed: %r %s %r" % (a, st.m.group("op"), b))
        else:
            raise AssertionError(k)

    def run_auth_with(self, st, name):
        mech = st.m.group("mech")  # other names than MECH_RX: sent without data (<invalid-mechanism/>)
        kw = {}
        for m in re.finditer(AUTH_OPT, st.m.group("opts") or ""):
            o = m.group(0)
            if o.startswith("using password "):
                kw["password"] = substitute(o[len("using password "):], self.vars, self.sc.rel, st.line, False)
            elif o.startswith("as "):
                kw["user"] = substitute(o[3:], self.vars, self.sc.rel, st.line, False)
            elif o.startswith("with authzid "):
                kw["authzid"] = substitute(o[len("with authzid "):], self.vars, self.sc.rel, st.line, False)
            elif o == "with corrupted proof":
                kw["corrupt_proof"] = True
            elif o == "with wrong channel binding":
                kw["wrong_cb"] = True
            elif o.startswith("with channel binding "):
                kw["cb_type"] = o[len("with channel binding "):]
            elif o.startswith("with flag "):
                kw["flag"] = o[len("with flag "):]
        conds = st.m.group("conds")
        self.do_sasl(name, self.deadline(st), mech, expect=conds.split("|") if conds else None,
                     when=st.m.group("when"), **kw)

    def do_recv_error(self, st, name):
        c = self.conn(name)
        dl = self.deadline(st)
        conds = st.m.group("conds").split("|")
        exp = "<stream:error>\n  <%s xmlns='%s'/>\n</stream:error>" % (" | ".join(conds), NS_STREAM_ERR)
        ev = c.next_event(dl)
        if c.header is None and ev is not None:
            raise Failure("%s: stream error without a stream header first (RFC 6120 §4.9.1.2)" % name,
                          exp, describe_event(ev), client=name)
        self.check_header_is_stream(c)
        if ev is None or ev[0] != "stanza" or ev[1].tag != "{%s}error" % NS_STREAM:
            raise Failure("%s: expected a stream error" % name, exp, describe_event(ev), client=name)
        got = [split_ns(x.tag)[1] for x in ev[1].children if split_ns(x.tag)[0] == NS_STREAM_ERR
               and split_ns(x.tag)[1] != "text"]
        if not got or got[0] not in conds:
            raise Failure("%s: wrong stream error condition" % name, exp, to_xml(ev[1]), client=name)
        while not c.eof and not c.closed_tag and time.monotonic() < dl:
            c.pump(dl)
        if not c.closed_tag:
            raise Failure("%s: no </stream:stream> after the stream error" % name,
                          "</stream:stream>", describe_event(c.events[0] if c.events else None), client=name)
        extra = self.wait_closed(c, dl)
        if extra:
            raise Failure("%s: stanzas after the stream error" % name, "(connection closed)",
                          "\n".join(to_xml(s[1]) for s in extra), client=name)
        if not c.eof:
            raise Failure("%s: the server did not close the TCP connection after the stream error" % name,
                          client=name)
        c.close()

    def do_send_big(self, st, name):
        c = self.conn(name)
        n = float(st.m.group("n"))
        unit = st.m.group("unit")
        total = int(n * {"bytes": 1, "B": 1, "KiB": 1024, "KB": 1000, "MiB": 1 << 20, "MB": 10 ** 6}[unit])
        to = st.m.group("to")
        to = substitute(to, self.vars, self.sc.rel, st.line) if to else self.vars["domain"]
        dl = self.deadline(st, max(self.sc.timeout, 60.0))
        head = "<message to='%s' id='huge' type='chat'><body>" % _esc(to, True)
        if not c.send(head, dl):
            return
        block = b"A" * CHUNK
        sent = 0
        logged = False
        while sent < total and time.monotonic() < dl:
            if c.eof or c.closed_tag or any(e[0] == "stanza" and e[1].tag == "{%s}error" % NS_STREAM
                                            for e in c.events):
                break
            part = block if total - sent >= CHUNK else block[:total - sent]
            # write what the socket takes now, reading in between
            r, w, _ = select.select([c.sock], [c.sock], [], max(0.0, dl - time.monotonic()))
            if r:
                c.pump(time.monotonic(), block=False)
                continue
            if not w:
                continue
            try:
                k = c.sock.send(part)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            except OSError as e:
                c.log("--", "send failed after %d bytes: %s" % (sent, e))
                break
            if not logged:
                c.log("C:", "[%d bytes of 'A' follow in chunks]" % total)
                logged = True
            sent += k
        c.log("--", "sent %d of %d filler bytes" % (sent, total))
        if sent >= total and not c.eof:
            c.send("</body></message>", dl)

    def close_all(self):
        for c in self.conns.values():
            c.close()


def run_scenario(sc, args, out):
    """Plays one scenario; returns 'pass', 'fail' or 'skip:REASON'."""
    server = None
    player = None
    t0 = time.monotonic()
    verbose_out = out if args.verbose else None
    current = None
    try:
        if args.attach:
            if sc.config != "default.toml":
                return "skip:needs config %s" % sc.config
            if sc.stops_server:
                return "skip:stops the server"
            if sc.attach.startswith("skip"):
                return "skip:%s" % (sc.attach[4:].strip().strip("()") or "marked attach: skip")
            host, _, port = args.attach.rpartition(":")
            player = Player(sc, host, int(port), None, verbose_out)
        else:
            server = Server(args.server, find_config(sc, [os.path.join(REPO, "scenarios", "configs")]),
                            keep=args.keep)
            server.start()
            player = Player(sc, "127.0.0.1", server.port, server, verbose_out, server.tls_port)
        for st in sc.statements:
            current = st
            if args.verbose:
                out("  %s:%d: %s" % (sc.rel, st.line, st.text))
            player.run_statement(st)
            if server is not None and not server.stop_requested and server.proc.poll() is not None:
                raise Failure("the server exited unexpectedly (status %s)" % server.proc.returncode)
        current = None
        if player:
            player.close_all()
        if server is not None:
            if server.stop_requested:
                if server.wait_exit(SERVER_STOP_TIMEOUT) is None:
                    raise Failure("the server did not exit within %.0fs after SIGTERM" % SERVER_STOP_TIMEOUT)
            problem = server.stop()
            if problem:
                raise Failure(problem)
        return "pass"
    except Skip as e:
        return "skip:%s" % e
    except Failure as f:
        report_failure(sc, current, f, player, server, out)
        return "fail"
    finally:
        if player:
            player.close_all()
        if server is not None:
            server.stop()
            if args.keep:
                out("  server directory kept: %s" % server.tmp)
            server.cleanup()
        if args.verbose:
            out("  (%.2fs)" % (time.monotonic() - t0))


def report_failure(sc, st, f, player, server, out):
    where = "%s:%d" % (sc.path, st.line) if st else sc.path
    out("FAIL %s" % sc.rel)
    out("  at %s: %s" % (where, st.text if st else "(teardown)"))
    out("  %s" % f.msg)
    if f.expected is not None or f.received is not None:
        out(side_by_side(f.expected or "", f.received or ""))
    if player:
        names = [f.client] if f.client else []
        names += [n for n in player.conns if n not in names]
        for n in names:
            c = player.conns.get(n)
            if c is None:
                continue
            out("  --- transcript of %s ---" % n)
            out(c.transcript_text())
    if server is not None:
        tail = server.log_tail(40)
        out("  --- last lines of the server log%s ---" % (
            " (%s)" % server.log_path if server.keep else "; --keep keeps the whole log"))
        out(textwrap.indent(tail or "(empty)", "  | "))


# --------------------------------------------------------------------------

def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith(".scenario"):
                        files.append(os.path.join(root, n))
        elif os.path.isfile(p):
            files.append(p)
        else:
            print("no such file or directory: %s" % p, file=sys.stderr)
            sys.exit(2)
    return files


def main():
    ap = argparse.ArgumentParser(description="Play XMPP scenarios against djabberd-actors.")
    ap.add_argument("paths", nargs="*", default=[os.path.join(REPO, "scenarios")],
                    help="scenario files or directories (default: scenarios/)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server", help="path of the djabberd-actors binary (a fresh server per scenario)")
    g.add_argument("--attach", metavar="HOST:PORT",
                   help="use an already running server (scenarios needing their own config are skipped)")
    ap.add_argument("-k", dest="filter", action="append", default=[],
                    help="only scenarios whose path or title contains this substring (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print statements and traffic")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="scenarios run in parallel (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary server directories")
    args = ap.parse_args()

    if args.server:
        args.server = os.path.abspath(args.server)
        if not os.access(args.server, os.X_OK):
            print("server binary not found or not executable: %s" % args.server, file=sys.stderr)
            print("scenarios: 0 passed, 1 failed")
            return 1

    files = collect(args.paths)
    scenarios = []
    errors = 0
    for fpath in files:
        rel = os.path.relpath(fpath, os.path.join(REPO, "scenarios")) if os.path.abspath(fpath).startswith(
            os.path.join(REPO, "scenarios")) else fpath
        try:
            sc = parse_scenario(fpath, rel)
        except ScenarioError as e:
            print("FAIL %s\n  scenario syntax error: %s" % (rel, e))
            errors += 1
            continue
        if args.filter and not any(k in rel or k in sc.title for k in args.filter):
            continue
        scenarios.append(sc)

    lock = threading.Lock()
    results = {}
    t_start = time.monotonic()

    def one(sc):
        buf = []
        t0 = time.monotonic()
        res = run_scenario(sc, args, buf.append)
        dt = time.monotonic() - t0
        with lock:
            if args.verbose:
                print("== %s%s" % (sc.rel, (": " + sc.title) if sc.title else ""))
            for line in buf:
                print(line)
            if res == "pass":
                print("PASS %s (%.1fs)" % (sc.rel, dt))
            elif res.startswith("skip:"):
                print("SKIP %s (%s)" % (sc.rel, res[5:]))
            else:
                print("     (%.1fs)" % dt)
            sys.stdout.flush()
            results[sc.rel] = res

    if args.jobs > 1:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            list(ex.map(one, scenarios))
    else:
        for sc in scenarios:
            one(sc)

    passed = sum(1 for r in results.values() if r == "pass")
    failed = sum(1 for r in results.values() if r == "fail") + errors
    skipped = sum(1 for r in results.values() if r.startswith("skip"))
    if failed:
        print("failed: %s" % " ".join(sorted(k for k, v in results.items() if v == "fail")))
    if skipped:
        print("skipped: %d" % skipped)
    print("total time: %.1fs" % (time.monotonic() - t_start))
    print("scenarios: %d passed, %d failed" % (passed, failed))
    return 1 if failed or (passed == 0 and not skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
