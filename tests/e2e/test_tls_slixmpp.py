#!/usr/bin/python3
"""End-to-end TLS test with a real client library (Debian's python3-slixmpp).

Starts djabberd-actors with scenarios/configs/tls-required.toml (a
self-signed certificate made by the scenario runner, STARTTLS required on
one port, direct TLS (XEP-0368) on a second) and checks:
  * alice logs in over STARTTLS, bob over direct TLS (use_ssl=True), both
    with slixmpp choosing its best mechanism. slixmpp 1.8.3 tries the -PLUS
    mechanisms with tls-unique first (undefined on TLS 1.3, refused by the
    server), then SCRAM-SHA-256 with gs2 flag 'y', which the server accepts
    after that failed attempt (COMPAT in actors/connection/sasl.cpp). The
    mechanism that succeeded must be SCRAM-SHA-256, slixmpp must have
    verified the server signature (it disconnects otherwise), and the server
    log must say "authenticated ... as alice@localhost (SCRAM-SHA-256, TLSv1.3)";
  * alice -> bob and bob -> alice chat messages, 'from' = sender's full JID.

    /usr/bin/python3 tests/e2e/test_tls_slixmpp.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded; the whole test has a hard limit
(--limit, default 60 s).
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: ports, certificate, temp config, start/stop)

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10  # seconds per network step
CONFIG = os.path.join(REPO, "scenarios", "configs", "tls-required.toml")
EXPECTED_MECH = "SCRAM-SHA-256"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        self.failed_mechs = []  # (mechanism, condition) of refused attempts
        self.mech_used = None
        # self-signed test certificate: no verification (order matters)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        self.add_event_handler("auth_success", self._on_auth_success)
        self.add_event_handler("disconnected", self._on_disconnected)

    def _on_auth_success(self, _stanza):
        self.mech_used = self["feature_mechanisms"].mech.name

    def _on_start(self, _event):
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_message(self, msg):
        self.inbox.put_nowait(msg)

    def _on_failed_auth(self, stanza):
        # a refused mechanism: slixmpp goes on with the next one
        mech = self["feature_mechanisms"].mech
        self.failed_mechs.append((mech.name if mech else "?", stanza["condition"]))

    def _on_failed_all_auth(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: no mechanism succeeded (refused: %s)" % (
                self.boundjid.bare, self.failed_mechs)))

    def _on_disconnected(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure(
                "%s: disconnected before the session started (refused mechanisms: %s)" % (
                    self.boundjid.bare, self.failed_mechs)))

    def tls_version(self):
        sock = self.socket
        return sock.version() if isinstance(sock, (ssl.SSLSocket, ssl.SSLObject)) else None


async def login(host, port, jid, password, direct_tls):
    bot = Bot(jid, password)
    if direct_tls:
        bot.connect(address=(host, port), use_ssl=True, force_starttls=False, disable_starttls=True)
    else:
        bot.connect(address=(host, port), use_ssl=False, force_starttls=True, disable_starttls=False)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    how = "direct TLS" if direct_tls else "STARTTLS"
    version = bot.tls_version()
    print("%s logged in over %s (%s), mechanism %s; refused before: %s" % (
        bot.boundjid.full, how, version, bot.mech_used, bot.failed_mechs or "none"))
    if version is None:
        raise TestFailure("%s: the session is not encrypted" % jid)
    if bot.mech_used != EXPECTED_MECH:
        raise TestFailure("%s: mechanism %s, expected %s (refused before: %s)" % (
            jid, bot.mech_used, EXPECTED_MECH, bot.failed_mechs))
    return bot


async def expect_message(bot, body, sender):
    deadline = time.monotonic() + STEP
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("%s: message %r not received within %ds" % (bot.boundjid.full, body, STEP))
        try:
            m = await asyncio.wait_for(bot.inbox.get(), left)
        except asyncio.TimeoutError:
            continue
        if m["type"] == "error":
            raise TestFailure("%s: got an error message: %s" % (bot.boundjid.full, m))
        if m["body"] == body:
            if m["from"].full != sender.boundjid.full:
                raise TestFailure("message from %r, expected %r" % (m["from"].full, sender.boundjid.full))
            return m


async def scenario(host, port, tls_port):
    alice = bob = None
    try:
        alice = await login(host, port, "alice@%s/slix-starttls" % DOMAIN, "pw", direct_tls=False)
        bob = await login(host, tls_port, "bob@%s/slix-direct" % DOMAIN, "pw", direct_tls=True)

        token = "hello-bob-%d" % os.getpid()
        alice.send_message(mto=bob.boundjid.full, mbody=token, mtype="chat")
        await expect_message(bob, token, alice)
        print("alice (STARTTLS) -> bob (direct TLS): ok")

        token = "hello-alice-%d" % os.getpid()
        bob.send_message(mto=alice.boundjid.full, mbody=token, mtype="chat")
        await expect_message(alice, token, bob)
        print("bob (direct TLS) -> alice (STARTTLS): ok")
    finally:
        for b in (alice, bob):
            if b is None:
                continue
            try:
                fut = b.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def run(host, port, tls_port):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(host, port, tls_port), 45))
    except asyncio.TimeoutError:
        raise TestFailure("the client scenario did not finish within 45 s")
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def check_server_log(server):
    """The server's own account of the logins: mechanism and TLS version."""
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for user in ("alice", "bob"):
        rx = r"authenticated \S+ as %s@%s \((\S+?), (TLSv[\d.]+)\)" % (user, re.escape(DOMAIN))
        m = re.search(rx, log)
        if not m:
            raise TestFailure("server log has no line matching %r" % rx)
        if m.group(1) != EXPECTED_MECH or m.group(2) != "TLSv1.3":
            raise TestFailure("server log: %s authenticated with %s over %s, expected %s over TLSv1.3" % (
                user, m.group(1), m.group(2), EXPECTED_MECH))
        print("server log: %s" % m.group(0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server", help="djabberd-actors binary to start")
    g.add_argument("--attach", metavar="HOST:PORT", help="use an already running server (STARTTLS port)")
    ap.add_argument("--tls-port", type=int, help="with --attach: the direct TLS port")
    ap.add_argument("--limit", type=int, default=60, help="hard time limit in seconds (default 60)")
    ap.add_argument("-v", "--verbose", action="store_true", help="slixmpp debug log")
    args = ap.parse_args()
    if args.attach and not args.tls_port:
        ap.error("--attach needs --tls-port")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    server = None
    try:
        if args.attach:
            host, _, port = args.attach.rpartition(":")
            port, tls_port = int(port), args.tls_port
        else:
            binary = os.path.abspath(args.server)
            if not os.access(binary, os.X_OK):
                raise TestFailure("server binary not found: %s" % binary)
            server = sr.Server(binary, CONFIG)
            server.start()
            host, port, tls_port = "127.0.0.1", server.port, server.tls_port
            print("server started: STARTTLS (required) on %s:%d, direct TLS on %d (log %s)" % (
                host, port, tls_port, server.log_path))
        run(host, port, tls_port)
        if server is not None:
            if server.proc.poll() is not None:
                raise TestFailure("the server exited during the test (status %s)" % server.proc.returncode)
            check_server_log(server)
            problem = server.stop()
            if problem:
                raise TestFailure(problem)
        signal.alarm(0)
        print("PASS test_tls_slixmpp")
        return 0
    except (TestFailure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL test_tls_slixmpp: %s" % e)
        if server is not None:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
