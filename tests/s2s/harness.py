"""Test harness for server-to-server federation (used by
tests/e2e/test_s2s_*.py): a private CA made with the openssl CLI, two (or
more) djabberd-actors instances on loopback addresses, a minimal XMPP
client (PLAIN over plain TCP, resource bind) and raw s2s peers (a socket
speaking jabber:server by hand, or a socket that accepts and stays silent).

Standard library only; every wait is bounded.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

NS_CLIENT = "jabber:client"
NS_SERVER = "jabber:server"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_DB = "jabber:server:dialback"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"


class Failure(Exception):
    pass


def q(ns, name):
    return "{%s}%s" % (ns, name)


def free_port(addr):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Failure("%s failed: %s" % (" ".join(cmd), r.stdout.decode(errors="replace")))


def make_ca(directory, names):
    """A private CA (ca.crt) and, for each (file name, DNS name), a leaf
    certificate signed by it: NAME.crt / NAME.key with subjectAltName
    DNS:<dns> (also usable as a TLS client certificate)."""
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=djabberd-actors test CA", "-keyout", "ca.key", "-out", "ca.crt"],
        directory)
    for name, dns in names:
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + dns,
             "-keyout", name + ".key", "-out", name + ".csr"], directory)
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n" % dns)
        run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey",
             "ca.key", "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
             "-out", name + ".crt"], directory)
    return {n: (os.path.join(directory, n + ".crt"), os.path.join(directory, n + ".key"))
            for n, _ in names} | {"ca": (os.path.join(directory, "ca.crt"), None)}


class Instance:
    """One djabberd-actors process serving `domain` on `addr`: a c2s
    listener (PLAIN allowed without TLS, for the test client) and an s2s
    listener. `server_extra` goes into [server]; `routes` is a list of
    (domain, host, port)."""

    def __init__(self, binary, tmp, domain, addr, users=("alice", "bob"), cert=None,
                 server_extra="", routes=(), plugins=("roster.sqlite", "vcard.sqlite")):
        self.binary = binary
        self.domain = domain
        self.addr = addr
        self.dir = os.path.join(tmp, domain)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.c2s_port = free_port(addr)
        self.s2s_port = free_port(addr)
        self.users = users
        self.cert = cert
        self.server_extra = server_extra
        self.routes = list(routes)
        self.plugins = plugins
        self.proc = None
        self.log_path = os.path.join(self.dir, "server.log")

    def config(self):
        users = ", ".join('%s = "pw"' % u for u in self.users)
        lines = [
            "[server]",
            'log_level = "debug"',
            'data_dir = "%s"' % os.path.join(self.dir, "data"),
            self.server_extra,
            "",
            "[[listen]]",
            'kind = "c2s"',
            'address = "%s"' % self.addr,
            "port = %d" % self.c2s_port,
            'starttls = "optional"',
            "allow_plain_without_tls = true",
            "",
            "[[listen]]",
            'kind = "s2s"',
            'address = "%s"' % self.addr,
            "port = %d" % self.s2s_port,
            "",
            "[[vhost]]",
            'domain = "%s"' % self.domain,
        ]
        if self.cert:
            lines += ['tls_cert = "%s"' % self.cert[0], 'tls_key = "%s"' % self.cert[1]]
        lines += ["  [[vhost.plugin]]", '  type = "auth.static"', "  users = { %s }" % users]
        for p in self.plugins:
            lines += ["  [[vhost.plugin]]", '  type = "%s"' % p]
        for d, h, p in self.routes:
            lines += ["", "[[s2s_route]]", 'domain = "%s"' % d, 'host = "%s"' % h, "port = %d" % p]
        return "\n".join(lines) + "\n"

    def start(self, timeout=10):
        path = os.path.join(self.dir, "server.toml")
        with open(path, "w") as f:
            f.write(self.config())
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", path], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        for port in (self.c2s_port, self.s2s_port):
            while True:
                if self.proc.poll() is not None:
                    raise Failure("%s exited during start:\n%s" % (self.domain, self.log_tail()))
                try:
                    socket.create_connection((self.addr, port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise Failure("%s did not start" % self.domain)
                    time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        self.logf.close()
        return self.proc.returncode

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Stream:
    """An XML stream over a socket: write text, read depth-1 elements."""

    def __init__(self, sock, name):
        self.sock = sock
        self.name = name
        self.sock.settimeout(0.05)
        self.events = []
        self.header = None
        self.closed = False
        self.eof = False
        self.new_parser()

    def new_parser(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0

    def send(self, text):
        self.sock.sendall(text.encode())

    def _pump(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return
        self.parser.feed(data)
        for ev, el in self.parser.read_events():
            if ev == "start":
                self.depth += 1
                if self.depth == 1:
                    self.header = el
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.events.append(el)
                elif self.depth == 0:
                    self.closed = True

    def next(self, timeout=5, what="a stanza"):
        deadline = time.monotonic() + timeout
        while not self.events:
            if self.eof or time.monotonic() > deadline:
                raise Failure("%s: no %s within %ss%s" % (self.name, what, timeout,
                                                         " (connection closed)" if self.eof else ""))
            self._pump()
        return self.events.pop(0)

    def expect(self, pred, timeout=5, what="matching stanza", skip=()):
        """The next element that is not one of `skip` (tags) must match."""
        deadline = time.monotonic() + timeout
        while True:
            el = self.next(max(0.01, deadline - time.monotonic()), what)
            if el.tag in skip:
                continue
            if not pred(el):
                raise Failure("%s: expected %s, got %s" % (self.name, what, ET.tostring(el).decode()))
            return el

    def nothing(self, timeout=0.5, skip=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._pump()
            for el in self.events:
                if el.tag not in skip:
                    raise Failure("%s: expected nothing, got %s" % (self.name, ET.tostring(el).decode()))
            self.events.clear()

    def wait_closed(self, timeout=5):
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() > deadline:
                raise Failure("%s: not closed within %ss" % (self.name, timeout))
            self._pump()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Client(Stream):
    """A c2s client: PLAIN over plain TCP, bind, initial presence optional."""

    def __init__(self, inst, user, resource="r"):
        self.jid = "%s@%s" % (user, inst.domain)
        sock = socket.create_connection((inst.addr, inst.c2s_port), timeout=5)
        super().__init__(sock, self.jid)
        import base64
        self.open(inst.domain)
        self.expect(lambda e: e.tag == q(NS_STREAM, "features"), what="features")
        self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
                  % (NS_SASL, base64.b64encode(b"\0" + user.encode() + b"\0pw").decode()))
        self.expect(lambda e: e.tag == q(NS_SASL, "success"), what="SASL success")
        self.new_parser()
        self.open(inst.domain)
        self.expect(lambda e: e.tag == q(NS_STREAM, "features"), what="features")
        self.send("<iq type='set' id='bind'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
                  % (NS_BIND, resource))
        res = self.expect(lambda e: e.get("id") == "bind", what="bind result")
        self.full = res.find(".//{%s}jid" % NS_BIND).text

    def open(self, domain):
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='%s' to='%s' version='1.0'>" % (NS_STREAM, domain))


def error_condition(el):
    err = el.find(q(NS_CLIENT, "error"))
    if err is None:
        return None
    for c in err:
        if c.tag.startswith("{%s}" % NS_STANZAS) and not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return None


def stream_error(el):
    if el.tag != q(NS_STREAM, "error"):
        return None
    for c in el:
        if c.tag.startswith("{%s}" % NS_STREAMS) and not c.tag.endswith("}text"):
            return c.tag.split("}")[1]
    return None


class SilentPeer:
    """Accepts TCP connections and never says anything."""

    def __init__(self, addr):
        self.sock = socket.socket()
        self.sock.bind((addr, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join(1)
        for c in self.conns:
            c.close()
        self.sock.close()


class TempDir:
    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix="dja-s2s-")
        self.keep = keep

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


class FakeServer:
    """A hand-written remote server for one outgoing stream at a time:
    `script(stream, tls_wrap)` plays its side (in a thread); `tls_wrap()`
    upgrades the socket to TLS as the server side (with `cert`)."""

    def __init__(self, addr, script, cert=None):
        import ssl
        self.sock = socket.socket()
        self.sock.bind((addr, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert[0], cert[1])
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(15)
        try:
            conn, _ = self.sock.accept()
        except OSError as e:
            self.errors.append("no connection: %s" % e)
            return
        s = Stream(conn, "fake")

        def tls_wrap():
            conn.settimeout(5)
            tls = self.ctx.wrap_socket(conn, server_side=True)
            s.sock = tls
            s.sock.settimeout(0.05)
            s.new_parser()

        try:
            self.script(s, tls_wrap)
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.errors.append(repr(e))

    def close(self):
        self.thread.join(1)
        self.sock.close()


def server_header(s, from_domain, to_domain, sid="fake-id"):
    s.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
           "xmlns:db='%s' from='%s' to='%s' id='%s' version='1.0'>"
           % (NS_STREAM, NS_DB, from_domain, to_domain, sid))


def read_header(s, timeout=5):
    deadline = time.monotonic() + timeout
    while s.header is None:
        if s.eof or time.monotonic() > deadline:
            raise Failure("fake: no stream header")
        s._pump()
    return s.header
