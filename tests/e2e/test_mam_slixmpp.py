#!/usr/bin/python3
"""End-to-end XEP-0313 test with a real client library (Debian's
python3-slixmpp, its xep_0313 and xep_0059 plugins): a new device pages the
whole archive.

Starts djabberd-actors (scenarios/configs/mam.toml: mam.sqlite, pages of at
most 5), logs in alice and bob (device 1), alice sends 23 chat messages to
bob; device 1 records the XEP-0359 stanza-id of each. Then bob logs in on a
second device and iterates his archive with slixmpp's MAM iterator (RSM
pages of 5, forward, then backward): every message comes exactly once, in
order, with its body, under the id device 1 saw; the query is addressed to
the own bare JID and answered from it.

    /usr/bin/python3 tests/e2e/test_mam_slixmpp.py --server build/djabberd-actors

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

import runner as sr  # noqa: E402

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10
COUNT = 23
NAME = "test_mam_slixmpp"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.received = []  # (body, stanza-id by bare JID)
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True
        for p in ("xep_0030", "xep_0059", "xep_0313", "xep_0359"):
            self.register_plugin(p)
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_auth", lambda *_: self._fail("authentication failed"))

    def _fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: %s" % (self.boundjid.bare, why)))

    async def _on_start(self, _event):
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_message(self, m):
        if m["body"] and m["type"] == "chat":
            sid = None
            for el in m.xml.findall("{urn:xmpp:sid:0}stanza-id"):
                if el.get("by") == self.boundjid.bare:
                    sid = el.get("id")
            self.received.append((m["body"], sid))
            self.changed.set()

    async def until(self, pred, what, timeout=STEP):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %s not seen within %ds" % (self.boundjid.full, what, timeout))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


async def login(host, port, jid, password):
    bot = Bot(jid, password)
    bot.connect(address=(host, port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def page_all(bot, reverse):
    got = []
    async def collect():
        async for m in bot["xep_0313"].iterate(jid=bot.boundjid.bare, reverse=reverse,
                                               rsm={"max": 5}):
            res = m["mam_result"]
            got.append((res["forwarded"]["stanza"]["body"], res["id"],
                        m["from"].full))
    await asyncio.wait_for(collect(), 3 * STEP)
    return got


async def scenario(host, port):
    bots = []
    try:
        alice = await login(host, port, "alice@%s/slix" % DOMAIN, "pw")
        bots.append(alice)
        bob = await login(host, port, "bob@%s/device1" % DOMAIN, "pw")
        bots.append(bob)
        for i in range(COUNT):
            alice.send_message(mto=bob.boundjid.full, mbody="message %d" % i, mtype="chat")
        await bob.until(lambda: len(bob.received) == COUNT, "%d messages" % COUNT)
        if any(sid is None for _, sid in bob.received):
            raise TestFailure("a message reached bob without a stanza-id: %s" % bob.received)
        print("device 1 received %d messages, each with a stanza-id" % COUNT)

        # XEP-0313 §7: the account announces its archive.
        info = await bob["xep_0030"].get_info(jid=bob.boundjid.bare, timeout=STEP)
        feats = info["disco_info"]["features"]
        if "urn:xmpp:mam:2" not in feats:
            raise TestFailure("urn:xmpp:mam:2 not in the bare JID's disco#info: %s" % feats)

        phone = await login(host, port, "bob@%s/device2" % DOMAIN, "pw")
        bots.append(phone)
        want = [(body, sid, bob.boundjid.bare) for body, sid in bob.received]
        got = await page_all(phone, reverse=False)
        if got != want:
            raise TestFailure("forward paging:\n got  %s\n want %s" % (got, want))
        print("device 2 paged the archive forward: %d messages in order, same ids" % len(got))
        got = await page_all(phone, reverse=True)
        if got != list(reversed(want)):
            raise TestFailure("backward paging:\n got  %s\n want %s" % (got, list(reversed(want))))
        print("device 2 paged the archive backward: %d messages" % len(got))
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
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "mam.toml"))
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
