#!/usr/bin/python3
"""End-to-end XEP-0280 (Message Carbons) and XEP-0352 (Client State
Indication) with a real client library (Debian's python3-slixmpp, plugins
xep_0280 and xep_0352).

Starts djabberd-actors (free port on 127.0.0.1, config from
scenarios/configs/modern-im.toml: the carbons and csi plugins) and logs in
two devices of alice (phone, laptop) and bob, with slixmpp over plain TCP.
Then:
  * both of alice's devices enable carbons (xep_0280.enable());
  * the phone writes to bob: bob gets the message, the laptop sees it as a
    'carbon_sent' event (from alice's bare JID, the original inside);
  * bob answers the phone: the laptop sees it as a 'carbon_received' event;
  * the laptop goes inactive (xep_0352.send_inactive(), offered by the
    server's <csi/> feature): bob's chat states to it are held and folded;
    bob's next message with a body brings the last chat state, then the
    message.

    /usr/bin/python3 tests/e2e/test_carbons_csi_slixmpp.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded, the whole test by --limit (60 s).
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The server, the bounded event loop and the slixmpp import check.
from test_im_slixmpp import TestFailure, main, slixmpp  # noqa: E402

DOMAIN = "localhost"
STEP = 10  # seconds per network step
NAME = "test_carbons_csi_slixmpp"


class Device(slixmpp.ClientXMPP):
    """Records messages, carbons (by slixmpp's own events, which check the
    carbon's from) and chat states in arrival order."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0085")
        self.register_plugin("xep_0280")
        self.register_plugin("xep_0352")
        self.ready = asyncio.get_event_loop().create_future()
        self.log = []  # ("message", body) / ("sent"|"received", body) / ("state", name)
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True  # plain TCP
        self.add_event_handler("session_start", self._on_start)
        # slixmpp's "message" event needs a <body/>; chat states come
        # as "chatstate" (xep_0085).
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("chatstate", self._on_chatstate)
        self.add_event_handler("carbon_sent", self._on_carbon("sent"))
        self.add_event_handler("carbon_received", self._on_carbon("received"))
        self.add_event_handler("failed_auth", self._on_failed)
        self.add_event_handler("disconnected", self._on_failed)

    async def _on_start(self, _event):
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def _record(self, entry):
        self.log.append(entry)
        self.changed.set()

    def _on_message(self, msg):
        if msg["body"]:
            self._record(("message", msg["body"]))

    def _on_chatstate(self, msg):
        if not msg["body"]:
            self._record(("state", msg["chat_state"]))

    def _on_carbon(self, kind):
        def handler(msg):
            if msg["from"] != self.boundjid.bare:
                self._record(("forged-" + kind, str(msg["from"])))
                return
            inner = msg["carbon_%s" % kind]
            self._record((kind, inner["body"]))
        return handler

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: no session" % self.boundjid))

    async def until(self, pred, what, timeout=STEP):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %s not seen within %ds (got: %s)"
                                  % (self.boundjid.full, what, timeout, self.log))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


async def login(host, port, jid):
    dev = Device(jid, "pw")
    dev.connect(address=(host, port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(dev.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return dev


def chat(sender, to, body=None, state=None):
    msg = sender.make_message(mto=to, mbody=body, mtype="chat")
    if state:
        msg["chat_state"] = state
    msg.send()


async def scenario(host, port):
    devices = []
    try:
        phone = await login(host, port, "alice@%s/phone" % DOMAIN)
        devices.append(phone)
        laptop = await login(host, port, "alice@%s/laptop" % DOMAIN)
        devices.append(laptop)
        bob = await login(host, port, "bob@%s/desk" % DOMAIN)
        devices.append(bob)
        for d in (phone, laptop):
            await d["xep_0280"].enable(timeout=STEP)
        print("carbons enabled on %s and %s" % (phone.boundjid, laptop.boundjid))

        chat(phone, bob.boundjid.bare, "from the phone")
        await bob.until(lambda: ("message", "from the phone") in bob.log, "the phone's message")
        await laptop.until(lambda: ("sent", "from the phone") in laptop.log,
                           "the phone's message as a <sent/> carbon")
        print("laptop: the phone's sent message arrived as a carbon")

        chat(bob, phone.boundjid.full, "to the phone")
        await phone.until(lambda: ("message", "to the phone") in phone.log, "bob's message")
        await laptop.until(lambda: ("received", "to the phone") in laptop.log,
                           "bob's message as a <received/> carbon")
        print("laptop: bob's message to the phone arrived as a carbon")
        if ("message", "to the phone") in laptop.log or ("sent", "from the phone") in phone.log:
            raise TestFailure("a carbon was delivered unwrapped or to its sender: phone %s, laptop %s"
                              % (phone.log, laptop.log))

        if not laptop["xep_0352"].enabled:
            raise TestFailure("slixmpp saw no <csi/> stream feature")
        laptop["xep_0352"].send_inactive()
        # An iq answer is never held, and is answered after the <inactive/>.
        await laptop["xep_0030"].get_info(jid=DOMAIN, timeout=STEP)
        before = len(laptop.log)
        for state in ("composing", "paused", "composing"):
            chat(bob, laptop.boundjid.full, state=state)
        await asyncio.sleep(1.0)
        if len(laptop.log) != before:
            raise TestFailure("inactive laptop got chat states at once: %s" % laptop.log[before:])
        chat(bob, laptop.boundjid.full, "wake up")
        await laptop.until(lambda: ("message", "wake up") in laptop.log, "bob's message")
        got = laptop.log[before:]
        if got != [("state", "composing"), ("message", "wake up")]:
            raise TestFailure("held chat states not folded then flushed: %s" % got)
        print("laptop (inactive): 3 chat states held, folded to 1, flushed before the message")
        forged = [e for d in devices for e in d.log if e[0].startswith("forged")]
        if forged:
            raise TestFailure("carbons from a foreign JID: %s" % forged)
    finally:
        for d in devices:
            try:
                fut = d.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


if __name__ == "__main__":
    sys.exit(main(NAME, "modern-im.toml", scenario, __doc__))
