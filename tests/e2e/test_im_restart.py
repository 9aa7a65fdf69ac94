#!/usr/bin/python3
"""End-to-end test: offline messages and rosters survive a server restart
(XEP-0160 / XEP-0203 with offline.sqlite, RFC 6121 rosters with roster.sqlite),
with Debian's python3-slixmpp as the client.

Starts djabberd-actors with scenarios/configs/im.toml (temporary config and
data directory, free port on 127.0.0.1). Run 1: alice logs in, sends bob
(not logged in) a chat message and adds bob to her roster. The server is
stopped with SIGTERM (must exit with status 0) and started again with the
same config and data directory (tests/scenarios/runner.py Server.restart).
Run 2: bob logs in, sends initial presence and gets alice's message with an
XEP-0203 delay stamp; alice logs in and her roster still has bob.

    /usr/bin/python3 tests/e2e/test_im_restart.py --server build/djabberd-actors

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
NAME = "test_im_restart"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password, presence):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        self.presence = presence
        self.register_plugin("xep_0203")  # <delay/>
        self["feature_mechanisms"].unencrypted_plain = True  # plain TCP
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("disconnected", self._on_disconnected)

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

    def _on_failed_auth(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: authentication failed" % self.boundjid.bare))

    def _on_disconnected(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: disconnected before the session started" % self.boundjid.bare))


async def login(port, jid, presence=True):
    bot = Bot(jid, "pw", presence)
    bot.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def logout(bot):
    try:
        fut = bot.disconnect(wait=1.0)
        if fut is not None:
            await asyncio.wait_for(fut, 5)
    except Exception:  # noqa: BLE001 - best-effort
        pass


async def run1(port, token):
    alice = await login(port, "alice@%s/before" % DOMAIN, presence=False)
    try:
        alice.send_message(mto="bob@%s" % DOMAIN, mbody=token, mtype="chat", mfrom=alice.boundjid)
        try:
            await alice.update_roster("bob@%s" % DOMAIN, name="Bob", groups=["Friends"], timeout=STEP)
        except Exception as e:  # noqa: BLE001 - IqError / IqTimeout
            raise TestFailure("alice: roster set failed: %r" % e)
        try:  # an error for the message would arrive by now
            m = await asyncio.wait_for(alice.inbox.get(), 1.0)
            raise TestFailure("alice got a message back instead of offline storage: %s" % m)
        except asyncio.TimeoutError:
            pass
        print("run 1: alice sent bob (offline) %r and added bob to her roster" % token)
    finally:
        await logout(alice)


async def run2(port, token):
    bob = await login(port, "bob@%s/after" % DOMAIN)
    try:
        try:
            m = await asyncio.wait_for(bob.inbox.get(), STEP)
        except asyncio.TimeoutError:
            raise TestFailure("bob: the offline message did not arrive within %ds after the restart" % STEP)
        if m["body"] != token:
            raise TestFailure("bob: got %r, expected the offline message %r" % (m["body"], token))
        if m["from"].bare != "alice@%s" % DOMAIN:
            raise TestFailure("bob: offline message from %r" % m["from"].full)
        delay = m.xml.find("{urn:xmpp:delay}delay")
        if delay is None or not delay.get("stamp"):
            raise TestFailure("bob: offline message without an XEP-0203 delay stamp: %s" % m)
        print("run 2: bob got %r with delay stamp %s" % (token, delay.get("stamp")))
    finally:
        await logout(bob)
    alice = await login(port, "alice@%s/after" % DOMAIN, presence=False)
    try:
        roster = alice.client_roster
        b = "bob@%s" % DOMAIN
        if b not in roster:
            raise TestFailure("alice: bob is no longer in her roster after the restart (%s)" % list(roster))
        if roster[b]["name"] != "Bob" or list(roster[b]["groups"]) != ["Friends"]:
            raise TestFailure("alice: bob's roster item changed: name %r groups %r"
                              % (roster[b]["name"], roster[b]["groups"]))
        print("run 2: alice's roster still has bob (name 'Bob', group 'Friends')")
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
    token = "kept-across-restart-%d" % os.getpid()
    try:
        binary = os.path.abspath(args.server)
        if not os.access(binary, os.X_OK):
            raise TestFailure("server binary not found: %s" % binary)
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "im.toml"))
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        run(run1(server.port, token))
        server.restart(time.monotonic() + 15)   # SIGTERM, exit 0, start again: same port and data dir
        print("server restarted on 127.0.0.1:%d" % server.port)
        run(run2(server.port, token))
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
