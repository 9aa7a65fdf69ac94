#!/usr/bin/python3
"""End-to-end test with a real client library (Debian's python3-slixmpp).

Starts djabberd-actors (free port on 127.0.0.1, config from
scenarios/configs/default.toml in a temporary directory), logs in alice and
bob with slixmpp over plain TCP (no TLS, PLAIN allowed unencrypted), and
checks:
  * alice -> bob and bob -> alice chat messages, with 'from' = sender's full JID;
  * XEP-0199 ping from alice to the server;
  * XEP-0030 disco#info on the server lists disco#info, urn:xmpp:ping, jabber:iq:version;
  * XEP-0092 software version of the server (name djabberd-actors).

    /usr/bin/python3 tests/e2e/test_slixmpp_chat.py --server build/djabberd-actors
    /usr/bin/python3 tests/e2e/test_slixmpp_chat.py --attach 127.0.0.1:16222   # an already running server

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Everything is bounded: each step has a timeout and the
whole test a hard limit (--limit, default 60 s).
"""

import argparse
import asyncio
import logging
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: free port + temp config + start/stop)

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10  # seconds per network step

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        for p in ("xep_0030", "xep_0199", "xep_0092"):
            self.register_plugin(p)
        # plain TCP: no STARTTLS, PLAIN without encryption
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("disconnected", self._on_disconnected)

    def _on_start(self, _event):
        # No presence and no roster: this server does not implement them yet.
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_message(self, msg):
        self.inbox.put_nowait(msg)

    def _on_failed_auth(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: authentication failed" % self.boundjid.bare))

    def _on_disconnected(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: disconnected before the session started" % self.boundjid.bare))


async def login(host, port, jid, password):
    bot = Bot(jid, password)
    bot.connect(address=(host, port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
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


async def scenario(host, port, attached):
    alice = bob = None
    try:
        alice = await login(host, port, "alice@%s/slix-a" % DOMAIN, "pw")
        bob = await login(host, port, "bob@%s/slix-b" % DOMAIN, "pw")
        print("logged in: %s, %s" % (alice.boundjid.full, bob.boundjid.full))

        token = "hello-bob-%d" % os.getpid()
        alice.send_message(mto=bob.boundjid.full, mbody=token, mtype="chat")
        await expect_message(bob, token, alice)
        print("alice -> bob: ok")

        token = "hello-alice-%d" % os.getpid()
        bob.send_message(mto=alice.boundjid.full, mbody=token, mtype="chat")
        await expect_message(alice, token, bob)
        print("bob -> alice: ok")

        try:
            rtt = await alice["xep_0199"].ping(jid=DOMAIN, timeout=STEP)
        except Exception as e:  # IqError / IqTimeout
            raise TestFailure("XEP-0199 ping to %s failed: %r" % (DOMAIN, e))
        print("ping: ok (%.1f ms)" % (rtt * 1000.0))

        try:
            info = await alice["xep_0030"].get_info(jid=DOMAIN, timeout=STEP)
        except Exception as e:
            raise TestFailure("disco#info on %s failed: %r" % (DOMAIN, e))
        feats = set(info["disco_info"]["features"])
        missing = {NS_DISCO_INFO, NS_PING, NS_VERSION} - feats
        if missing:
            raise TestFailure("disco#info lacks %s (got %s)" % (sorted(missing), sorted(feats)))
        print("disco#info: ok (%d features)" % len(feats))

        try:
            ver = await alice["xep_0092"].get_version(DOMAIN, timeout=STEP)
        except Exception as e:
            raise TestFailure("software version of %s failed: %r" % (DOMAIN, e))
        name = ver["software_version"]["name"]
        version = ver["software_version"]["version"]
        if not attached and name != "djabberd-actors":
            raise TestFailure("version name %r, expected 'djabberd-actors'" % name)
        if not name or not version:
            raise TestFailure("version answer without name/version: %s" % ver)
        print("version: ok (%s %s)" % (name, version))
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


def run(host, port, attached):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(host, port, attached), 50))
    except asyncio.TimeoutError:
        raise TestFailure("the client scenario did not finish within 50 s")
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server", help="djabberd-actors binary to start")
    g.add_argument("--attach", metavar="HOST:PORT", help="use an already running server")
    ap.add_argument("--limit", type=int, default=60, help="hard time limit in seconds (default 60)")
    ap.add_argument("-v", "--verbose", action="store_true", help="slixmpp debug log")
    args = ap.parse_args()
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
            port = int(port)
        else:
            binary = os.path.abspath(args.server)
            if not os.access(binary, os.X_OK):
                raise TestFailure("server binary not found: %s" % binary)
            server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "default.toml"))
            server.start()
            host, port = "127.0.0.1", server.port
            print("server started on %s:%d (log %s)" % (host, port, server.log_path))
        run(host, port, attached=bool(args.attach))
        if server is not None:
            if server.proc.poll() is not None:
                raise TestFailure("the server exited during the test (status %s)" % server.proc.returncode)
            problem = server.stop()
            if problem:
                raise TestFailure(problem)
        signal.alarm(0)
        print("PASS test_slixmpp_chat")
        return 0
    except (TestFailure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL test_slixmpp_chat: %s" % e)
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
