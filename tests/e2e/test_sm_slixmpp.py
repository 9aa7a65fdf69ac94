#!/usr/bin/python3
"""End-to-end XEP-0198 stream management with a real client library
(Debian's python3-slixmpp and its xep_0198 plugin): a phone drops its TCP
connection mid-conversation and resumes without losing or reordering a
message.

Starts djabberd-actors (free ports on 127.0.0.1, scenarios/configs/sm.toml:
resume_timeout 60 s, STARTTLS optional, direct TLS on a second port). Twice,
once over plain TCP and once over direct TLS (XEP-0368):
  * the phone (alice, slixmpp with xep_0198, resumption on) and the laptop
    (bob, plain slixmpp) log in; the phone enables stream management;
  * bob sends 5 messages, the phone gets them;
  * the phone's transport is aborted (no </stream:stream>, as when a phone
    changes network); bob sends 5 more while it is away, and the server
    must not bounce them (the session is detached, not gone);
  * the phone reconnects: slixmpp sends <resume/> after SASL, the server
    answers <resumed/> (event session_resumed, no new bind), and the phone
    receives the 5 missed messages: 10 in all, each once, in order;
  * the phone's bound JID is unchanged and bob saw no unavailable presence.

    /usr/bin/python3 tests/e2e/test_sm_slixmpp.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded, the whole test by --limit (90 s).
"""

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
from cluster_lib import TestFailure, run  # noqa: E402  (the asyncio runner)

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10
NAME = "test_sm_slixmpp"


class Client(slixmpp.ClientXMPP):
    """Sends initial presence at session start; records message bodies
    and presences; `sm` registers xep_0198 (resumption on)."""

    def __init__(self, jid, password, sm):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.bodies = []
        self.presences = []
        self.errors = []
        self.events = []
        self.changed = asyncio.Event()
        self.label = ""  # only bodies starting with it are recorded
        self["feature_mechanisms"].unencrypted_plain = True
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        if sm:
            self.register_plugin("xep_0198")
            self["xep_0198"].allow_resume = True
        for ev in ("sm_enabled", "session_resumed", "sm_failed",
                   "session_bind", "disconnected"):
            self.add_event_handler(ev, self._note(ev))
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("presence", self._on_presence)

    def _note(self, name):
        def handler(*_):
            self.events.append(name)
            self.changed.set()
        return handler

    async def _on_start(self, _event):
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_message(self, m):
        if m["type"] == "error":
            self.errors.append(m["id"])
        elif m["body"] and m["body"].startswith(self.label):
            self.bodies.append(m["body"])
        self.changed.set()

    def _on_presence(self, p):
        self.presences.append((p["type"], p["from"].full))
        self.changed.set()

    async def until(self, pred, what, timeout=STEP):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %s not seen within %ds (bodies %s, events %s)"
                                  % (self.boundjid.full, what, timeout, self.bodies, self.events))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


def connect(c, host, port, tls):
    if tls:
        c.connect(address=(host, port), use_ssl=True, force_starttls=False, disable_starttls=True)
    else:
        c.connect(address=(host, port), force_starttls=False, disable_starttls=True)


async def login(host, port, jid, sm, tls, label):
    c = Client(jid, "pw", sm)
    c.label = label
    connect(c, host, port, tls)
    try:
        await asyncio.wait_for(c.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return c


async def scenario(host, port, tls, label):
    clients = []
    try:
        phone = await login(host, port, "alice@%s/phone-%s" % (DOMAIN, label), True, tls, label)
        clients.append(phone)
        laptop = await login(host, port, "bob@%s/laptop-%s" % (DOMAIN, label), False, tls, label)
        clients.append(laptop)
        await phone.until(lambda: "sm_enabled" in phone.events, "<enabled/>")
        if not phone["xep_0198"].sm_id:
            raise TestFailure("<enabled/> without a resumption id")
        full = phone.boundjid.full
        print("%s: phone %s has stream management (id %s)" % (label, full, phone["xep_0198"].sm_id))

        expected = ["%s-%d" % (label, i) for i in range(10)]
        for body in expected[:5]:
            laptop.send_message(mto=full, mbody=body, mtype="chat")
        await phone.until(lambda: len(phone.bodies) >= 5, "the first 5 messages")

        # The network goes: no </stream:stream>, no FIN from a live app.
        phone.transport.abort()
        await phone.until(lambda: "disconnected" in phone.events, "the disconnection")
        for body in expected[5:]:
            laptop.send_message(mto=full, mbody=body, mtype="chat")
        await asyncio.sleep(0.5)
        if laptop.errors:
            raise TestFailure("messages to the detached session bounced: %s" % laptop.errors)
        print("%s: phone dropped its connection; 5 more messages sent meanwhile" % label)

        connect(phone, host, port, tls)
        await phone.until(lambda: "session_resumed" in phone.events or "sm_failed" in phone.events,
                          "<resumed/>")
        if "sm_failed" in phone.events:
            raise TestFailure("the server refused the resumption")
        if phone.events.count("session_bind") != 1:
            raise TestFailure("the phone bound again instead of resuming: %s" % phone.events)
        await phone.until(lambda: len(phone.bodies) >= 10, "all 10 messages")
        await asyncio.sleep(0.5)
        if phone.bodies != expected:
            raise TestFailure("received %s, expected %s (each once, in order)" % (phone.bodies, expected))
        if phone.boundjid.full != full:
            raise TestFailure("resumed as %s, not %s" % (phone.boundjid.full, full))
        gone = [p for p in laptop.presences if p == ("unavailable", full)]
        if gone:
            raise TestFailure("the laptop saw the phone unavailable during the resumption")
        # The resumed stream works both ways.
        phone.send_message(mto=laptop.boundjid.full, mbody="%s-back" % label, mtype="chat")
        await laptop.until(lambda: "%s-back" % label in laptop.bodies, "the phone's message after resuming")
        print("%s: resumed; 10 messages, each once, in order" % label)
        # A polite client acknowledges before it closes (else what it got
        # since its last ack goes to offline storage, XEP-0198 §5).
        phone["xep_0198"].send_ack()
    finally:
        for c in clients:
            try:
                fut = c.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
    ap.add_argument("--limit", type=int, default=90, help="hard time limit in seconds (default 90)")
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
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "sm.toml"))
        server.start()
        print("server started on 127.0.0.1:%d, direct TLS on %d (log %s)"
              % (server.port, server.tls_port, server.log_path))
        run(scenario("127.0.0.1", server.port, False, "tcp"), 35)
        run(scenario("127.0.0.1", server.tls_port, True, "tls"), 35)
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
