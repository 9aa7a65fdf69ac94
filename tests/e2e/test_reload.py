#!/usr/bin/python3
"""End-to-end test of the reload without restart (actors/server/reload.hpp)
and of the operator's commands (`djabberd-actors ctl`, actors/control/).

One server: STARTTLS on one port, direct TLS (XEP-0368) on another, vhost
localhost (auth.static: alice, bob, load) with a certificate at a fixed
path. Then:
  1. --clients raw TLS clients (default 1000) log in over direct TLS as
     load@localhost/rN (SASL PLAIN, bind) and note the certificate's
     SHA-256; alice and bob log in with slixmpp (alice over STARTTLS with
     XEP-0198); every raw client answers a ping;
  2. the certificate file is replaced (same path, a new key) and
     `ctl reload` says which certificate changed and its fingerprint; none
     of the clients was dropped (each answers a ping again, alice and bob
     exchange a message); new connections see the new certificate (Python
     ssl on the direct TLS port, `openssl s_client -starttls xmpp`);
  3. a broken configuration (a wrong type in [limits]) and one whose
     certificate file is missing are refused: exit 1, FILE:LINE: KEY:
     EXPECTED as --check-config prints it, "nothing changed"; new
     connections still get the same certificate, every client is still
     there, the log level is unchanged;
  4. SIGHUP with a third certificate and log_level = "debug": the log says
     what changed, new connections get it, nobody is dropped;
  5. a vhost added by reload (new.test, with its own users) serves a
     slixmpp login that was refused before (host-unknown); the version
     plugin's option show_os turned on by reload: a new session's
     jabber:iq:version answer has <os/> (it had none before); the vhost
     removed by reload: carol@new.test's stream ends with <host-gone/>;
  6. the admin commands: stats (connections by kind, sessions, memory),
     sessions (all, of a vhost, of an unknown vhost: error), roster show
     (alice's contact bob; unknown account and vhost: errors), broadcast
     (bob gets the headline; unknown vhost: error), kick (a bare JID ends
     every resource with <policy-violation/> and the reason; unknown JID
     and vhost: errors, exit 1).

    /usr/bin/python3 tests/e2e/test_reload.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the server log's tail
otherwise. Every wait is bounded; the whole test has --limit (280 s).
"""

import argparse
import asyncio
import base64
import hashlib
import logging
import os
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import cluster_lib as cl  # noqa: E402  (TestFailure, run)
import scn_server as ss  # noqa: E402  (Server: free ports + temp config)

try:
    import slixmpp
    from slixmpp.xmlstream import ET
except ImportError:
    print("SKIP test_reload: slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(77)

NAME = "test_reload"
STEP = 20  # seconds per step
TestFailure = cl.TestFailure

CONFIG = """[server]
log_level = "info"
data_dir = "@DATA_DIR@"

[limits]
max_connections_per_address = 0
max_resources = 5000

[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = @PORT@

[[listen]]
kind = "c2s_tls"
address = "127.0.0.1"
port = @TLS_PORT@

[[vhost]]
domain = "localhost"
tls_cert = "%(cert)s"
tls_key = "%(key)s"
  [[vhost.plugin]]
  type = "auth.static"
  users = { alice = "pw", bob = "pw", load = "pw" }
  [[vhost.plugin]]
  type = "version"
  show_os = %(show_os)s
%(extra)s"""

NEW_VHOST = """
[[vhost]]
domain = "new.test"
  [[vhost.plugin]]
  type = "auth.static"
  users = { carol = "pw" }
"""


def make_cert(path_cert, path_key):
    """A new self-signed certificate for localhost; its SHA-256 (hex)."""
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", path_key, "-out", path_cert, "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,DNS:new.test"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise TestFailure("openssl req: %s" % r.stderr.decode()[-300:])
    with open(path_cert, encoding="ascii") as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def colon_hex(h):
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2)).upper()


class Ctl:
    def __init__(self, binary, config):
        self.binary, self.config = binary, config

    def __call__(self, *args):
        p = subprocess.run([self.binary, "ctl", "--config", self.config] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=STEP + 30)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args):
        rc, out, err = self(*args)
        if rc != 0:
            raise TestFailure("ctl %s: exit %d, %s%s" % (" ".join(args), rc, out, err))
        return out

    def refused(self, args, *want):
        rc, out, err = self(*args)
        if rc != 1 or any(w not in err for w in want):
            raise TestFailure("ctl %s: exit %d, stdout %r, stderr %r; expected 1 and %r"
                              % (" ".join(args), rc, out, err, want))
        return err


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_sha256(writer):
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest()


HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>").encode()


class Raw:
    """A raw client over direct TLS: logs in with SASL PLAIN and binds."""

    def __init__(self, n):
        self.n = n
        self.reader = self.writer = None
        self.buf = b""
        self.fingerprint = None
        self.pings = 0

    async def until(self, marker, what):
        deadline = time.monotonic() + STEP * 3
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("raw client %d: no %s within %ds (got %r)"
                                  % (self.n, what, STEP * 3, self.buf[-300:]))
            chunk = await asyncio.wait_for(self.reader.read(65536), left)
            if not chunk:
                raise TestFailure("raw client %d: the server closed the stream waiting "
                                  "for %s (got %r)" % (self.n, what, self.buf[-300:]))
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    async def login(self, port):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client_context()), STEP * 3)
        self.fingerprint = peer_sha256(self.writer)
        self.writer.write(HEADER)
        await self.until(b"</stream:features>", "stream features")
        cred = base64.b64encode(b"\0load\0pw").decode()
        self.writer.write(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s"
                           "</auth>" % cred).encode())
        got = await self.until(b"/>", "the SASL outcome")
        if b"success" not in got:
            raise TestFailure("raw client %d: SASL PLAIN: %r" % (self.n, got))
        self.writer.write(HEADER)
        await self.until(b"</stream:features>", "stream features after SASL")
        self.writer.write(("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                           "<resource>r%d</resource></bind></iq>" % self.n).encode())
        got = await self.until(b"</iq>", "the bind result")
        if b"result" not in got:
            raise TestFailure("raw client %d: bind: %r" % (self.n, got))

    async def ping(self):
        self.pings += 1
        pid = "ping-%d-%d" % (self.n, self.pings)
        self.writer.write(("<iq type='get' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/>"
                           "</iq>" % pid).encode())
        await self.until(pid.encode(), "the answer to ping %s" % pid)

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def gather_bounded(coros, width=100):
    """Runs the coroutines with at most `width` at a time."""
    sem = asyncio.Semaphore(width)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


async def all_alive(raws, when):
    t0 = time.monotonic()
    await gather_bounded([r.ping() for r in raws])
    print("  %s: all %d raw clients answer a ping (%.1f s)" % (when, len(raws), time.monotonic() - t0))


async def new_fingerprint(port):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=client_context()), STEP)
    fp = peer_sha256(writer)
    writer.close()
    return fp


def starttls_fingerprint(port):
    """The certificate `openssl s_client -starttls xmpp` sees on the
    STARTTLS port (SHA-256, hex)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-starttls", "xmpp", "-xmpphost", "localhost", "-servername", "localhost"],
                       input=b"", capture_output=True, timeout=STEP)
    m = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    if not m:
        raise TestFailure("openssl s_client -starttls xmpp: no certificate (%r)" % p.stdout[-300:])
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(m.group(0).decode())).hexdigest()


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        self.stream_errors = asyncio.Queue()
        self.gone = asyncio.Event()
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("stream_error", lambda e: self.stream_errors.put_nowait(e))
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("failed_all_auth", self._on_failed)

    def _on_start(self, _event):
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: authentication failed" % self.boundjid))

    def _on_disconnected(self, *_):
        self.gone.set()
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: disconnected before the session started"
                                                 % self.boundjid))


async def login(port, jid, sm=False):
    bot = Bot(jid, "pw")
    if sm:
        bot.register_plugin("xep_0198")
    bot.register_plugin("xep_0092")
    bot.connect(address=("127.0.0.1", port), force_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    bot.send_presence()
    return bot


async def refused_login(port, jid):
    bot = Bot(jid, "pw")
    bot.connect(address=("127.0.0.1", port), force_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except TestFailure:
        return
    except asyncio.TimeoutError:
        raise TestFailure("%s: neither a session nor a refusal within %ds" % (jid, STEP))
    finally:
        bot.disconnect()
    raise TestFailure("%s: logged in, expected a refusal" % jid)


async def expect_body(bot, body, kind=None):
    deadline = time.monotonic() + STEP
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("%s: no message %r within %ds" % (bot.boundjid, body, STEP))
        try:
            m = await asyncio.wait_for(bot.inbox.get(), left)
        except asyncio.TimeoutError:
            continue
        if m["body"] == body:
            if kind and m["type"] != kind:
                raise TestFailure("%s: message %r of type %s, expected %s"
                                  % (bot.boundjid, body, m["type"], kind))
            return m


async def expect_stream_error(bot, condition, text=None):
    try:
        e = await asyncio.wait_for(bot.stream_errors.get(), STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no stream error within %ds" % (bot.boundjid, STEP))
    if e["condition"] != condition or (text and text not in e["text"]):
        raise TestFailure("%s: stream error %s (%r), expected %s (%r)"
                          % (bot.boundjid, e["condition"], e["text"], condition, text))
    await asyncio.wait_for(bot.gone.wait(), STEP)


async def version_os(bot):
    """The <os/> of the server's jabber:iq:version answer ("" when none)."""
    iq = bot.make_iq_get(queryxmlns="jabber:iq:version", ito=bot.boundjid.domain)
    res = await iq.send(timeout=STEP)
    el = res.xml.find("{jabber:iq:version}query/{jabber:iq:version}os")
    return "" if el is None else (el.text or "")


async def exchange(alice, bob, body):
    alice.send_message(mto=bob.boundjid.full, mbody=body, mtype="chat")
    await expect_body(bob, body)


class World:
    def __init__(self, server, ctl, tmp, binary):
        self.server, self.ctl, self.tmp, self.binary = server, ctl, tmp, binary
        self.config = os.path.join(server.tmp, "server.toml")
        self.cert = os.path.join(tmp, "live.pem")
        self.key = os.path.join(tmp, "live.key")
        self.show_os = "false"
        self.extra = ""

    def write_config(self, text=None):
        with open(self.config, encoding="utf-8") as f:
            old = f.read()
        if text is None:
            # keep the ports and data dir of the running server
            text = CONFIG % {"cert": self.cert, "key": self.key, "show_os": self.show_os,
                             "extra": self.extra}
            for key, value in (("@PORT@", self.server.port), ("@TLS_PORT@", self.server.tls_port),
                               ("@DATA_DIR@", os.path.join(self.server.tmp, "data"))):
                text = text.replace(key, str(value))
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(text)
        return old

    def log(self):
        with open(self.server.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


async def wait_log(world, pattern, start):
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if re.search(pattern, world.log()[start:]):
            return
        await asyncio.sleep(0.1)
    raise TestFailure("the server log has no %r after the reload" % pattern)


async def steps(world, n_clients):
    srv, ctl = world.server, world.ctl
    fp1 = hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(world.cert).read())).hexdigest()
    raws = [Raw(i) for i in range(n_clients)]
    bots = []
    try:
        t0 = time.monotonic()
        await gather_bounded([r.login(srv.tls_port) for r in raws], width=50)
        if any(r.fingerprint != fp1 for r in raws):
            raise TestFailure("a raw client saw another certificate than the first")
        print("1. %d raw TLS clients logged in as load@localhost in %.1f s, certificate %s..."
              % (n_clients, time.monotonic() - t0, fp1[:16]))
        alice = await login(srv.port, "alice@localhost/desk", sm=True)
        bob = await login(srv.port, "bob@localhost/phone")
        bots += [alice, bob]
        await exchange(alice, bob, "before the reload")
        await all_alive(raws, "before")
        if await version_os(alice) != "":
            raise TestFailure("show_os = false: the version answer has <os/>")

        # 2. a new certificate at the same path, ctl reload
        fp2 = make_cert(world.cert, world.key)
        out = ctl.ok("reload")
        if "new certificate for new connections: localhost (SHA-256 %s)" % colon_hex(fp2) not in out:
            raise TestFailure("ctl reload after a new certificate:\n%s" % out)
        print("2. ctl reload:\n   " + out.strip().replace("\n", "\n   "))
        for fp, how in ((await new_fingerprint(srv.tls_port), "direct TLS (Python ssl)"),
                        (starttls_fingerprint(srv.port), "STARTTLS (openssl s_client)")):
            if fp != fp2:
                raise TestFailure("a new connection over %s got %s, expected the new %s"
                                  % (how, fp[:16], fp2[:16]))
            print("  a new connection over %s gets the new certificate" % how)
        await all_alive(raws, "after the reload")
        await exchange(bob, alice, "after the reload")
        print("  alice and bob still exchange messages; no client was dropped")

        # 3. broken configurations change nothing
        good = world.write_config()
        with open(world.config, encoding="utf-8") as f:
            text = f.read()
        broken = text.replace("max_resources = 5000", 'max_resources = "many"').replace(
            'log_level = "info"', 'log_level = "debug"')
        world.write_config(broken)
        line = broken.split("\n").index('max_resources = "many"') + 1
        check = subprocess.run([world.binary, "--check-config", "--config", world.config],
                               capture_output=True, text=True, timeout=STEP)
        want = "%s:%d: limits.max_resources:" % (world.config, line)
        if want not in check.stderr:
            raise TestFailure("--check-config of the broken file: %r lacks %r" % (check.stderr, want))
        err = ctl.refused(["reload"], want, "nothing changed")
        print("3. a wrong type in [limits]: refused, %r" % err.strip().split("\n")[0])
        world.write_config(text.replace(world.key, world.key + ".missing"))
        err = ctl.refused(["reload"], world.key + ".missing", "nothing changed")
        print("   a missing key file: refused, %r" % err.strip().split("\n")[0])
        world.write_config(good)
        if await new_fingerprint(srv.tls_port) != fp2:
            raise TestFailure("after a refused reload new connections get another certificate")
        out = ctl.ok("reload")
        if "no change" not in out:
            raise TestFailure("the refused reloads changed something: %r" % out)
        await all_alive(raws, "after the refused reloads")
        print("   nothing changed: same certificate, log level, every client there")

        # 4. SIGHUP: a third certificate and log_level = debug
        fp3 = make_cert(world.cert, world.key)
        world.write_config(good.replace('log_level = "info"', 'log_level = "debug"'))
        mark = len(world.log())
        srv.proc.send_signal(signal.SIGHUP)
        await wait_log(world, r"log_level: info -> debug", mark)
        await wait_log(world, re.escape("localhost (SHA-256 %s)" % colon_hex(fp3)), mark)
        if await new_fingerprint(srv.tls_port) != fp3:
            raise TestFailure("after SIGHUP new connections do not get the new certificate")
        await all_alive(raws, "after SIGHUP")
        await exchange(alice, bob, "after SIGHUP")
        print("4. SIGHUP: new certificate and log level applied (log), no client dropped")

        # 5. vhosts and plugins
        await refused_login(srv.port, "carol@new.test/x")
        world.extra = NEW_VHOST
        world.show_os = "true"
        world.write_config()
        out = ctl.ok("reload")
        for want in ("vhosts added: new.test", "vhosts with a new plugin chain (new sessions; "
                     "open ones keep theirs): localhost"):
            if want not in out:
                raise TestFailure("ctl reload (vhost added, option changed) lacks %r:\n%s" % (want, out))
        carol = await login(srv.port, "carol@new.test/x")
        bots.append(carol)
        print("5. a vhost added by reload serves carol@new.test (refused before)")
        dave = await login(srv.port, "alice@localhost/new")
        bots.append(dave)
        got = await version_os(dave)
        if not got:
            raise TestFailure("show_os = true by reload: a new session's version answer has no <os/>")
        print("   version.show_os = true by reload: a new session gets <os>%s</os>" % got)
        await exchange(alice, bob, "after the vhost change")
        await all_alive(raws, "after the vhost change")
        world.extra = ""
        world.write_config()
        out = ctl.ok("reload")
        if "vhosts removed: new.test (1 session(s) closed with host-gone)" not in out:
            raise TestFailure("ctl reload (vhost removed):\n%s" % out)
        await expect_stream_error(carol, "host-gone")
        print("   the vhost removed: carol's stream ended with <host-gone/>")
        await all_alive(raws, "after the vhost removal")

        # 6. admin commands
        await admin(world, raws, alice, bob, dave)
    finally:
        for r in raws:
            r.close()
        for b in bots:
            b.disconnect()
        await asyncio.sleep(0.2)


async def admin(world, raws, alice, bob, dave):
    ctl = world.ctl
    out = ctl.ok("stats")
    n = len(raws)
    m = re.search(r"connections: (\d+), c2s (\d+), c2s_tls (\d+)", out)
    if not m or int(m.group(3)) != n or int(m.group(2)) < 3:
        raise TestFailure("ctl stats: %r (expected c2s_tls %d, c2s >= 3)" % (out, n))
    for want in ("uptime: ", "sessions: %d" % (n + 3), "memory: resident ", "vhosts: 1"):
        if want not in out:
            raise TestFailure("ctl stats lacks %r:\n%s" % (want, out))
    print("6. ctl stats:\n   " + out.strip().replace("\n", "\n   "))
    out = ctl.ok("sessions", "localhost")
    lines = out.strip().split("\n")
    if lines[-1] != "%d session(s)" % (n + 3):
        raise TestFailure("ctl sessions localhost: last line %r" % lines[-1])
    desk = [x for x in lines if x.startswith("alice@localhost/desk\t")]
    if not desk or not re.match(r"alice@localhost/desk\t127\.0\.0\.1\S*\t\d{4}-\d\d-\d\dT[\d:]+Z\t"
                                r"TLSv1\.[23]\tresumable$", desk[0]):
        raise TestFailure("ctl sessions: alice's line %r" % desk)
    if not any(x.startswith("load@localhost/r0\t") for x in lines):
        raise TestFailure("ctl sessions lacks load@localhost/r0")
    ctl.refused(["sessions", "nowhere.test"], "no vhost nowhere.test here (served: localhost)")
    print("   ctl sessions: %d lines; %s" % (len(lines) - 2, desk[0]))

    # dave (alice/new) logged in after localhost got its new chain: the
    # roster store `ctl roster show` asks (roster.memory of that chain)
    res = dave.update_roster("bob@localhost", name="Bobby", groups=["Friends"])
    if asyncio.isfuture(res) or asyncio.iscoroutine(res):
        await asyncio.wait_for(res, STEP)
    deadline = time.monotonic() + STEP
    while True:
        out = ctl.ok("roster", "show", "alice@localhost")
        if "bob@localhost\tnone\t-\tBobby\tFriends" in out:
            break
        if time.monotonic() > deadline:
            raise TestFailure("ctl roster show alice@localhost: %r" % out)
        await asyncio.sleep(0.2)
    ctl.refused(["roster", "show", "nobody@localhost"], "no account nobody@localhost")
    ctl.refused(["roster", "show", "alice@nowhere.test"], "no vhost nowhere.test here")
    ctl.refused(["roster", "list", "alice@localhost"], "roster: expects show JID")
    print("   ctl roster show: bob listed; unknown account, vhost, subcommand: exit 1")

    out = ctl.ok("broadcast", "localhost", "maintenance at 22:00 UTC")
    if "sent to %d session(s) of localhost" % (n + 3) not in out:
        raise TestFailure("ctl broadcast: %r" % out)
    m = await expect_body(bob, "maintenance at 22:00 UTC", kind="headline")
    if m["from"].full != "localhost":
        raise TestFailure("the broadcast came from %r" % m["from"].full)
    ctl.refused(["broadcast", "nowhere.test", "hi"], "no vhost nowhere.test here")
    print("   ctl broadcast: bob got the headline from localhost; unknown vhost: exit 1")

    ctl.refused(["kick", "nobody@localhost"], "no session of nobody@localhost here")
    ctl.refused(["kick", "alice@nowhere.test"], "no vhost nowhere.test here")
    ctl.refused(["kick", "not a jid@"], "not a JID")
    out = ctl.ok("kick", "alice@localhost", "spamming the room")
    if "kicked alice@localhost/desk" not in out or "kicked alice@localhost/new" not in out:
        raise TestFailure("ctl kick alice@localhost: %r" % out)
    await expect_stream_error(alice, "policy-violation", "spamming the room")
    await expect_stream_error(dave, "policy-violation", "spamming the room")
    out = ctl.ok("sessions", "localhost")
    if "alice@localhost" in out:
        raise TestFailure("after the kick alice still has a session (XEP-0198 kept it?):\n%s"
                          % out[:500])
    await exchange_ok(bob)
    print("   ctl kick alice@localhost: both resources ended with <policy-violation/> and the "
          "reason, the resumable one too; unknown JID, vhost: exit 1")


async def exchange_ok(bob):
    if bob.gone.is_set():
        raise TestFailure("bob was disconnected by alice's kick")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=280)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * args.clients + 512
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print("SKIP %s: %d clients need %d file descriptors (hard limit %d); "
                  "use --clients" % (NAME, args.clients, want, hard))
            return 77
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    binary = os.path.abspath(args.server)
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="dja-reload-") as tmp:
            cert, key = os.path.join(tmp, "live.pem"), os.path.join(tmp, "live.key")
            make_cert(cert, key)
            template = os.path.join(tmp, "template.toml")
            with open(template, "w", encoding="utf-8") as f:
                f.write(CONFIG % {"cert": cert, "key": key, "show_os": "false", "extra": ""})
            server = ss.Server(binary, template)
            server.start()
            world = World(server, Ctl(binary, os.path.join(server.tmp, "server.toml")), tmp, binary)
            cl.run(steps(world, args.clients), args.limit - 20)
            problem = server.stop()
            if problem:
                raise TestFailure(problem)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, ss.Failure, subprocess.TimeoutExpired) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- server log (%s) ---" % server.log_path)
            print(server.log_tail(60))
        return 1
    finally:
        if server is not None:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
