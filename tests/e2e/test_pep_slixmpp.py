#!/usr/bin/python3
"""End-to-end XEP-0163 PEP test with a real client library (Debian's
python3-slixmpp, plugins xep_0030, xep_0115, xep_0163, xep_0084): XEP-0084
avatars between two clients.

Starts djabberd-actors with scenarios/configs/pep.toml (roster.sqlite,
pep.sqlite), logs in alice and bob, who subscribe to each other. slixmpp
announces urn:xmpp:avatar:metadata+notify in its XEP-0115 caps; the server
asks each client's disco#info once and checks the hash. Then:
  * alice publishes an avatar (urn:xmpp:avatar:data, item id = SHA-1 of
    the bytes) and its metadata (urn:xmpp:avatar:metadata);
  * bob gets the metadata notification (avatar_metadata_publish) with that
    id, fetches the data item from alice's PEP service and gets the same
    bytes back;
  * a second session of bob that logs in afterwards gets the metadata as
    the last published item at its first presence.

    /usr/bin/python3 tests/e2e/test_pep_slixmpp.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded, the whole test by --limit (60 s).
"""

import argparse
import asyncio
import hashlib
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
NAME = "test_pep_slixmpp"
AVATAR = bytes(range(256)) * 4  # 1 KiB of "image" (pep.toml: max_payload_bytes = 2048)


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    """Caps, PEP and avatars on; approves subscription requests; records the
    avatar metadata notifications it receives."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        for p in ("xep_0030", "xep_0115", "xep_0060", "xep_0163", "xep_0084"):
            self.register_plugin(p)
        self.ready = asyncio.get_event_loop().create_future()
        self.metadata = []  # (from bare JID, item id)
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True  # plain TCP
        self.roster.auto_authorize = True
        self.roster.auto_subscribe = False
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("avatar_metadata_publish", self._on_metadata)
        self.add_event_handler("roster_update", lambda *_: self.changed.set())
        self.add_event_handler("failed_auth", self._on_failed)
        self.add_event_handler("disconnected", self._on_failed)

    async def _on_start(self, _event):
        try:
            await self.get_roster(timeout=STEP)
            self.send_presence()
        except Exception as e:  # noqa: BLE001
            if not self.ready.done():
                self.ready.set_exception(TestFailure("%s: roster get failed: %r" % (self.boundjid.bare, e)))
            return
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_metadata(self, msg):
        item = msg["pubsub_event"]["items"]["item"]
        self.metadata.append((msg["from"].bare, item["id"]))
        self.changed.set()

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: no session" % self.boundjid.bare))

    async def until(self, pred, what, timeout=STEP):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %s not seen within %ds (metadata received: %s)"
                                  % (self.boundjid.full, what, timeout, self.metadata))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass

    def subscription(self, bare):
        r = self.client_roster
        return r[bare]["subscription"] if bare in r else None


async def login(host, port, jid, password):
    bot = Bot(jid, password)
    bot.connect(address=(host, port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def scenario(host, port):
    bots = []
    try:
        alice = await login(host, port, "alice@%s/slix-a" % DOMAIN, "pw")
        bots.append(alice)
        bob = await login(host, port, "bob@%s/slix-b" % DOMAIN, "pw")
        bots.append(bob)
        A, B = alice.boundjid, bob.boundjid
        alice.send_presence(pto=B.bare, ptype="subscribe")
        await alice.until(lambda: alice.subscription(B.bare) == "to", "subscription to bob")
        bob.send_presence(pto=A.bare, ptype="subscribe")
        await bob.until(lambda: bob.subscription(A.bare) == "both", "subscription both with alice")
        print("roster: alice and bob have subscription 'both'")
        # the server's caps queries at the presences just sent
        await asyncio.sleep(1.0)

        avatar_id = hashlib.sha1(AVATAR).hexdigest()
        await asyncio.wait_for(alice["xep_0084"].publish_avatar(AVATAR), STEP)
        await asyncio.wait_for(alice["xep_0084"].publish_avatar_metadata(
            items=[{"id": avatar_id, "type": "image/png", "bytes": len(AVATAR)}]), STEP)
        print("alice published avatar %s" % avatar_id)

        await bob.until(lambda: (A.bare, avatar_id) in bob.metadata, "alice's avatar metadata")
        print("bob got the metadata notification")
        res = await asyncio.wait_for(bob["xep_0084"].retrieve_avatar(A.bare, avatar_id), STEP)
        got = res["pubsub"]["items"]["item"]["avatar_data"]["value"]
        if got != AVATAR:
            raise TestFailure("bob fetched %d bytes, not alice's %d-byte avatar" % (len(got), len(AVATAR)))
        print("bob fetched the avatar data: the same %d bytes" % len(got))

        bob2 = await login(host, port, "bob@%s/slix-b2" % DOMAIN, "pw")
        bots.append(bob2)
        await bob2.until(lambda: (A.bare, avatar_id) in bob2.metadata, "alice's last avatar metadata")
        print("bob's second session got the last item at its presence")
    finally:
        for b in bots:
            try:
                fut = b.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def run(coro, limit=50):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(coro, limit))
    except asyncio.TimeoutError:
        raise TestFailure("the client scenario did not finish within %d s" % limit)
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
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "pep.toml"))
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        run(scenario("127.0.0.1", server.port))
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
