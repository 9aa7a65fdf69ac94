#!/usr/bin/python3
"""End-to-end test: rosters (roster.sqlite) and pending subscription
requests (RFC 6121 §3.1.3: kept for a contact who is not available) survive
a server restart, with Debian's python3-slixmpp as the client.

Starts djabberd-actors with scenarios/configs/im.toml (temporary config and
data directory, free port on 127.0.0.1). Run 1, nobody sends presence:
alice asks bob and carol for their presence; bob approves alice and asks
for hers (alice does not answer); carol never logs in. The server is
stopped with SIGTERM (exit status 0) and started again on the same data
directory. Run 2: alice's roster still shows bob as To and carol as None +
Pending Out; bob's shows alice as From + Pending Out; alice's initial
presence brings bob's waiting request; carol's initial presence brings
alice's, and carol's approval turns alice's item into To.

    /usr/bin/python3 tests/e2e/test_subscriptions_restart.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded, the whole test by --limit (60 s).
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

import runner as sr  # noqa: E402  (Server: free port + temp config + start/restart/stop)

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10  # seconds per network step
NAME = "test_subscriptions_restart"
ALICE, BOB, CAROL = ("%s@%s" % (u, DOMAIN) for u in ("alice", "bob", "carol"))


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    """A client that answers no subscription request by itself."""

    def __init__(self, jid, presence):
        super().__init__(jid, "pw")
        self.ready = asyncio.get_event_loop().create_future()
        self.requests = asyncio.Queue()  # bare JIDs that asked to subscribe
        self.presence = presence
        self.auto_authorize = None  # neither accept nor refuse: the test decides
        self.auto_subscribe = False
        self["feature_mechanisms"].unencrypted_plain = True  # plain TCP
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("presence_subscribe",
                               lambda p: self.requests.put_nowait(p["from"].bare))
        self.add_event_handler("failed_auth", self._fail("authentication failed"))
        self.add_event_handler("disconnected", self._fail("disconnected before the session started"))

    def _fail(self, why):
        def handler(*_):
            if not self.ready.done():
                self.ready.set_exception(TestFailure("%s: %s" % (self.boundjid.bare, why)))
        return handler

    async def _on_start(self, _event):
        try:
            await self.get_roster(timeout=STEP)
            if self.presence:
                self.send_presence()
        except Exception as e:  # noqa: BLE001
            if not self.ready.done():
                self.ready.set_exception(TestFailure("%s: roster get failed: %r" % (self.boundjid.bare, e)))
            return
        if not self.ready.done():
            self.ready.set_result(True)

    def item(self, contact):
        r = self.client_roster
        if contact not in r:
            return None
        it = r[contact]
        return (it["subscription"], bool(it["pending_out"]))

    async def wait_item(self, contact, want, what):
        """Roster pushes arrive asynchronously: poll (bounded)."""
        end = time.monotonic() + STEP
        while time.monotonic() < end:
            if self.item(contact) == want:
                return
            await asyncio.sleep(0.05)
        raise TestFailure("%s: %s: roster item for %s is %r, expected %r"
                          % (self.boundjid.bare, what, contact, self.item(contact), want))

    async def wait_request(self, contact, what):
        try:
            got = await asyncio.wait_for(self.requests.get(), STEP)
        except asyncio.TimeoutError:
            raise TestFailure("%s: %s: no subscription request from %s within %ds"
                              % (self.boundjid.bare, what, contact, STEP))
        if got != contact:
            raise TestFailure("%s: %s: subscription request from %s, expected %s"
                              % (self.boundjid.bare, what, got, contact))


async def login(port, jid, presence=False):
    bot = Bot(jid, presence)
    bot.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def logout(*bots):
    for bot in bots:
        try:
            fut = bot.disconnect(wait=1.0)
            if fut is not None:
                await asyncio.wait_for(fut, 5)
        except Exception:  # noqa: BLE001 - best-effort
            pass


async def run1(port):
    alice = await login(port, ALICE + "/before")
    bob = await login(port, BOB + "/before")
    try:
        alice.send_presence(pto=BOB, ptype="subscribe")
        alice.send_presence(pto=CAROL, ptype="subscribe")
        await alice.wait_item(BOB, ("none", True), "after subscribing")
        await alice.wait_item(CAROL, ("none", True), "after subscribing")
        bob.send_presence(pto=ALICE, ptype="subscribed")
        await alice.wait_item(BOB, ("to", False), "after bob's approval")
        bob.send_presence(pto=ALICE, ptype="subscribe")
        await bob.wait_item(ALICE, ("from", True), "after asking alice")
        # alice is not available: bob's request waits as Pending In
        print("run 1: alice is To bob and None + Pending Out carol; "
              "bob's request to alice waits")
    finally:
        await logout(alice, bob)


async def run2(port):
    alice = await login(port, ALICE + "/after", presence=True)
    try:
        for contact, want in ((BOB, ("to", False)), (CAROL, ("none", True))):
            if alice.item(contact) != want:
                raise TestFailure("alice's roster after the restart: %s is %r, expected %r"
                                  % (contact, alice.item(contact), want))
        await alice.wait_request(BOB, "initial presence after the restart")
        print("run 2: alice's roster kept bob (To) and carol (None + Pending Out); "
              "bob's waiting request came with her initial presence")
        bob = await login(port, BOB + "/after")
        try:
            if bob.item(ALICE) != ("from", True):
                raise TestFailure("bob's roster after the restart: alice is %r, expected ('from', True)"
                                  % (bob.item(ALICE),))
        finally:
            await logout(bob)
        carol = await login(port, CAROL + "/after", presence=True)
        try:
            await carol.wait_request(ALICE, "initial presence after the restart")
            carol.send_presence(pto=ALICE, ptype="subscribed")
            await alice.wait_item(CAROL, ("to", False), "after carol's approval")
        finally:
            await logout(carol)
        print("run 2: carol got alice's waiting request and approved it: alice is To carol")
    finally:
        await logout(alice)


def run(coro, limit=25):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(coro, limit))
    except asyncio.TimeoutError:
        raise TestFailure("the client steps did not finish within %d s" % limit)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
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
        binary = os.path.abspath(args.server)
        if not os.access(binary, os.X_OK):
            raise TestFailure("server binary not found: %s" % binary)
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "im.toml"))
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        run(run1(server.port))
        server.restart(time.monotonic() + 15)   # SIGTERM, exit 0, start again: same port and data dir
        print("server restarted on 127.0.0.1:%d" % server.port)
        run(run2(server.port))
        if server.proc.poll() is not None:
            raise TestFailure("the server exited during the test (status %s)" % server.proc.returncode)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
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
