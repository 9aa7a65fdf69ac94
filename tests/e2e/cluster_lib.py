"""Helpers for the cluster end-to-end tests (tests/e2e/test_cluster_*.py).

- make_ca / make_cert: a private CA and node certificates, made with the
  openssl command line in a temporary directory.
- Node: one djabberd-actors process of a cluster on loopback (own c2s port,
  own cluster port, own data_dir; the roster and offline SQLite files are
  shared by all nodes of a test, which stands in for PostgreSQL on one host).
- Client: a small asyncio XMPP client (plain TCP, SASL PLAIN, bind) that
  keeps every stanza it receives, so a test can count messages exactly.

Every wait is bounded; nothing here talks to anything but 127.0.0.1.
"""

import argparse
import asyncio
import base64
import os
import signal
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

NS_CLIENT = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
DOMAIN = "localhost"


class TestFailure(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def make_ca(workdir, name):
    """A self-signed CA: returns (cert path, key path)."""
    crt, key = name + ".crt", name + ".key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name,
             cwd=workdir)
    return os.path.join(workdir, crt), os.path.join(workdir, key)


def make_cert(workdir, ca, name):
    """A node certificate signed by `ca` (cert, key): returns (cert, key)."""
    ca_crt, ca_key = ca
    crt, key, csr = name + ".crt", name + ".key", name + ".csr"
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + name, cwd=workdir)
    _openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
             "-out", crt, "-days", "2", cwd=workdir)
    return os.path.join(workdir, crt), os.path.join(workdir, key)


CONFIG = """[server]
log_level = "{log_level}"
data_dir  = "{data_dir}"
log_file  = "{log_file}"

[limits]
c2s_rate = 0   # no read shaper: bench/cluster_bench.py measures the core

[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = {c2s_port}
starttls = "off"

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ {users} }}
  [[vhost.plugin]]
  type = "roster.sqlite"
  file = "{shared}/roster.sqlite"
  [[vhost.plugin]]
  type = "offline.sqlite"
  file = "{shared}/offline.sqlite"
  max_messages = 0
{extra_plugins}
[cluster]
node = "{name}"
listen = "127.0.0.1:{cluster_port}"
peers = [{peers}]
tls_cert = "{cert}"
tls_key = "{key}"
tls_ca = "{ca}"
link_timeout_ms = {link_timeout_ms}
forward_timeout_ms = {forward_timeout_ms}
"""


class Node:
    def __init__(self, binary, workdir, name, users, ca_crt, cert, shared,
                 log_level="info", link_timeout_ms=4000, extra_plugins=(),
                 forward_timeout_ms=5000):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.c2s_port = free_port()
        self.cluster_port = free_port()
        self.users = users
        self.ca = ca_crt
        self.cert, self.key = cert
        self.shared = shared
        self.log_level = log_level
        self.link_timeout_ms = link_timeout_ms
        self.forward_timeout_ms = forward_timeout_ms
        self.peers = []
        # plugin types added after offline.sqlite (e.g. "carbons")
        self.extra_plugins = extra_plugins
        self.proc = None
        self.config = os.path.join(self.dir, "server.toml")
        self.log_path = os.path.join(self.dir, "server.log")

    @property
    def cluster_addr(self):
        return "127.0.0.1:%d" % self.cluster_port

    def write_config(self):
        users = ", ".join('%s = "pw"' % u for u in self.users)
        with open(self.config, "w") as f:
            f.write(CONFIG.format(
                log_level=self.log_level, data_dir=os.path.join(self.dir, "data"),
                log_file=self.log_path, c2s_port=self.c2s_port, users=users,
                shared=self.shared, name=self.name, cluster_port=self.cluster_port,
                peers=", ".join('"%s"' % p for p in self.peers), cert=self.cert,
                key=self.key, ca=self.ca, link_timeout_ms=self.link_timeout_ms,
                forward_timeout_ms=self.forward_timeout_ms,
                extra_plugins="".join('  [[vhost.plugin]]\n  type = "%s"\n' % t
                                      for t in self.extra_plugins)))

    def start(self, wait=15):
        self.write_config()
        self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("node %s exited at start (status %s):\n%s"
                                  % (self.name, self.proc.returncode, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.c2s_port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("node %s: c2s port not open within %ds" % (self.name, wait))

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def status(self, timeout=20):
        """`djabberd-actors cluster status` for this node: (rc, stdout)."""
        r = subprocess.run([self.binary, "cluster", "status", "--config", self.config],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace")

    def status_rows(self):
        """{node name: (state, sessions)} from `cluster status`."""
        rc, out = self.status()
        if rc != 0:
            raise TestFailure("cluster status of %s failed (%d): %s" % (self.name, rc, out))
        rows = {}
        for line in out.splitlines()[2:]:
            cols = line.split()
            if len(cols) >= 3:
                rows[cols[0]] = (cols[1], cols[2])
        return rows

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except TestFailure as e:
            last = e
        time.sleep(0.2)
    raise TestFailure("%s: not within %ss (last: %s)" % (what, timeout, last))


def wait_cluster(nodes, timeout=20):
    """Until every node sees every other one as up."""
    names = {n.name for n in nodes}

    def ok():
        for n in nodes:
            rows = n.status_rows()
            up = {k for k, v in rows.items() if v[0] in ("up", "self")}
            if up != names:
                return False
        return True
    wait_until(ok, timeout, "cluster of %s formed" % sorted(names))


class Client:
    """One XMPP client stream: PLAIN over plain TCP, then bind."""

    def __init__(self, user, resource, port):
        self.user, self.resource, self.port = user, resource, port
        self.jid = "%s@%s/%s" % (user, DOMAIN, resource)
        self.bare = "%s@%s" % (user, DOMAIN)
        self.inbox = []          # every stanza received (ET elements)
        self.received_at = {}    # id(element in inbox) -> time.monotonic() when parsed
        self.stream_error = None
        self.closed = asyncio.Event()
        self._waiters = []
        self._id = 0

    def next_id(self):
        self._id += 1
        return "%s-%d" % (self.resource, self._id)

    async def connect(self, timeout=10):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), timeout)
        await self._open()
        await self._expect(lambda e: e.tag == "{%s}features" % NS_STREAM, timeout)
        token = base64.b64encode(("\0%s\0pw" % self.user).encode()).decode()
        self.send_raw("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % token)
        e = await self._expect(lambda e: e.tag.endswith("}success") or e.tag.endswith("}failure"), timeout)
        if not e.tag.endswith("}success"):
            raise TestFailure("%s: authentication failed" % self.jid)
        await self._open()
        await self._expect(lambda e: e.tag == "{%s}features" % NS_STREAM, timeout)
        self.send_raw("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                      "<resource>%s</resource></bind></iq>" % self.resource)
        e = await self._expect(lambda e: e.get("id") == "bind1", timeout)
        if e.get("type") != "result":
            raise TestFailure("%s: bind failed: %s" % (self.jid, ET.tostring(e)))
        self.inbox = []
        return self

    async def _open(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.send_raw("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
        if not hasattr(self, "_task") or self._task.done():
            self._task = asyncio.ensure_future(self._read_loop())

    async def _read_loop(self):
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.parser.feed(data)
                for ev, el in self.parser.read_events():
                    if ev == "start":
                        self.depth += 1
                    else:
                        self.depth -= 1
                        if self.depth == 1:
                            self._got(el)
        except (ConnectionError, ET.ParseError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()
            for w in self._waiters:
                if not w[1].done():
                    w[1].set_result(None)

    def _got(self, el):
        if el.tag == "{%s}error" % NS_STREAM:
            self.stream_error = [c.tag.split("}")[1] for c in el][0] if len(el) else "?"
        self.inbox.append(el)
        self.received_at[id(el)] = time.monotonic()
        for w in list(self._waiters):
            if not w[1].done() and w[0](el):
                w[1].set_result(el)
                self._waiters.remove(w)

    async def _expect(self, pred, timeout):
        for el in self.inbox:
            if pred(el):
                self.inbox.remove(el)
                return el
        fut = asyncio.get_event_loop().create_future()
        self._waiters.append((pred, fut))
        try:
            el = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise TestFailure("%s: expected stanza did not arrive within %ss" % (self.jid, timeout))
        if el is None:
            raise TestFailure("%s: stream closed while waiting (stream error %s)"
                              % (self.jid, self.stream_error))
        self.inbox.remove(el)
        return el

    async def wait_for(self, pred, timeout=10, what="stanza"):
        try:
            return await self._expect(pred, timeout)
        except TestFailure as e:
            raise TestFailure("%s: %s: %s" % (self.jid, what, e))

    def find(self, pred):
        return [e for e in self.inbox if pred(e)]

    def send_raw(self, text):
        self.writer.write(text.encode())

    def send(self, text):
        self.send_raw(text)

    async def drain(self):
        await self.writer.drain()

    def presence(self, priority=0):
        self.send("<presence><priority>%d</priority></presence>" % priority)

    def message(self, to, body, mid=None, mtype="chat"):
        mid = mid or self.next_id()
        self.send("<message to='%s' id='%s' type='%s'><body>%s</body></message>" % (to, mid, mtype, body))
        return mid

    async def close(self):
        try:
            self.send_raw("</stream:stream>")
            await asyncio.wait_for(self.writer.drain(), 2)
            await asyncio.wait_for(self.closed.wait(), 3)
        except Exception:  # noqa: BLE001 - best effort
            pass
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001
            pass


def tag(el):
    return el.tag.split("}")[-1]


def is_msg(body=None, frm=None, mtype=None):
    def pred(e):
        if tag(e) != "message":
            return False
        if mtype and e.get("type") != mtype:
            return False
        if frm and not (e.get("from") or "").startswith(frm):
            return False
        if body is not None:
            b = e.find("{jabber:client}body")
            return b is not None and b.text == body
        return True
    return pred


def is_presence(frm=None, ptype=None):
    def pred(e):
        return (tag(e) == "presence" and (frm is None or (e.get("from") or "").startswith(frm))
                and (e.get("type") or "") == (ptype or ""))
    return pred


def run(coro, limit):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, limit))
    except asyncio.TimeoutError:
        raise TestFailure("the client steps did not finish within %d s" % limit)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


async def subscribe_both(a, b, timeout=10):
    """A full RFC 6121 subscription handshake in both directions between
    clients a and b (both have sent initial presence)."""
    for x, y in ((a, b), (b, a)):
        x.send("<presence to='%s' type='subscribe'/>" % y.bare)
        await y.wait_for(is_presence(x.bare, "subscribe"), timeout, "subscribe from " + x.bare)
        y.send("<presence to='%s' type='subscribed'/>" % x.bare)
        await x.wait_for(is_presence(y.bare, "subscribed"), timeout, "subscribed from " + y.bare)
        # §3.1.5: the new subscriber gets the contact's current presence.
        await x.wait_for(is_presence(y.jid), timeout, "presence of " + y.jid)


def main(name, doc, scenario, node_names, users, extra_plugins=(), limit=120,
         **node_options):
    """Runs a cluster test: a private CA, nodes `node_names` (all linked to
    each other, shared SQLite files, `extra_plugins` added to each), then
    `scenario(*nodes)` within the time limit; PASS/FAIL and the nodes' logs
    on stdout. Returns the exit status (test_cluster_carbons.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=limit)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    def on_alarm(_s, _f):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    work = tempfile.mkdtemp(prefix="dja-%s-" % name)
    nodes = []
    try:
        binary = os.path.abspath(args.server)
        ca = make_ca(work, "ca")
        shared = os.path.join(work, "shared")
        os.makedirs(shared)
        for n in node_names:
            nodes.append(Node(binary, work, n, users, ca[0], make_cert(work, ca, n), shared,
                              extra_plugins=extra_plugins, **node_options))
        for n in nodes:
            n.peers = [m.cluster_addr for m in nodes if m is not n]
        for n in nodes:
            n.start()
        wait_cluster(nodes)
        print("%d nodes up and linked" % len(nodes))
        run(scenario(*nodes), args.limit - 30)
        for n in nodes:
            if n.proc.poll() is not None:
                raise TestFailure("node %s exited during the test" % n.name)
        signal.alarm(0)
        print("PASS %s" % name)
        return 0
    except Exception as e:  # noqa: BLE001
        signal.alarm(0)
        print("FAIL %s: %s" % (name, e))
        for n in nodes:
            print("--- %s log ---\n%s" % (n.name, n.log_tail(25)))
        return 1
    finally:
        for n in nodes:
            n.kill(signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
