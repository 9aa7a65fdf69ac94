#!/usr/bin/python3
"""End-to-end XEP-0357 push notifications with a real client library
(Debian's python3-slixmpp with its xep_0198 plugin; Debian 12's slixmpp
1.8 has no xep_0357 plugin, so the phone sends <enable/> as a slixmpp
Iq with the XEP-0357 payload, as that plugin does).

Starts djabberd-actors (free ports on 127.0.0.1, scenarios/configs/push.toml:
stream management with resumption, csi, push.sqlite with 1 s bursts):
  * the app server (app@localhost/server, slixmpp) answers every pubsub
    publish it gets with a result and records it;
  * the phone (alice, slixmpp with xep_0198, resumption on) enables push
    to the app server's full JID, node "phone-node", with a
    publish-options secret, and gets a result;
  * the phone's transport is aborted (no </stream:stream>): its session is
    detached, waiting for a resumption;
  * bob (slixmpp) sends the phone a message: the app server gets one
    notification, from alice's bare JID, to node "phone-node", with the
    summary form (message-count 1, the sender, no body) and the secret;
  * the phone reconnects, resumes, and reads the message.

    /usr/bin/python3 tests/e2e/test_push_slixmpp.py --server build/djabberd-actors

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
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
from cluster_lib import TestFailure, run  # noqa: E402  (the asyncio runner)

try:
    import slixmpp
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

DOMAIN = "localhost"
STEP = 10
NAME = "test_push_slixmpp"
PUBSUB = "http://jabber.org/protocol/pubsub"
PUSH = "urn:xmpp:push:0"
DATA = "jabber:x:data"


class Client(slixmpp.ClientXMPP):
    """Records message bodies and events; `sm` registers xep_0198."""

    def __init__(self, jid, sm=False):
        super().__init__(jid, "pw")
        self.ready = asyncio.get_event_loop().create_future()
        self.bodies = []
        self.events = []
        self.pushes = []
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True
        if sm:
            self.register_plugin("xep_0198")
            self["xep_0198"].allow_resume = True
        for ev in ("sm_enabled", "session_resumed", "sm_failed", "disconnected"):
            self.add_event_handler(ev, self._note(ev))
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)

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
        if m["body"]:
            self.bodies.append(m["body"])
        self.changed.set()

    def serve_as_app_server(self):
        """Answers each XEP-0357 §7 publish with a result, recording it."""
        def on_publish(iq):
            self.pushes.append(iq)
            self.changed.set()
            iq.reply().send()
        self.register_handler(Callback(
            "push publish",
            MatchXPath("{jabber:client}iq/{%s}pubsub" % PUBSUB), on_publish))

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


def connect(c, host, port):
    c.connect(address=(host, port), force_starttls=False, disable_starttls=True)


async def login(host, port, jid, sm=False):
    c = Client(jid, sm)
    connect(c, host, port)
    try:
        await asyncio.wait_for(c.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return c


def enable_payload(app_jid, node, secret):
    enable = ET.Element("{%s}enable" % PUSH, jid=app_jid, node=node)
    x = ET.SubElement(enable, "{%s}x" % DATA, type="submit")
    for var, value in (("FORM_TYPE", PUBSUB + "#publish-options"), ("secret", secret)):
        f = ET.SubElement(x, "{%s}field" % DATA, var=var)
        ET.SubElement(f, "{%s}value" % DATA).text = value
    return enable


def summary_of(iq):
    """The fields of the notification's summary form and publish-options."""
    ps = iq.xml.find("{%s}pubsub" % PUBSUB)
    pub = ps.find("{%s}publish" % PUBSUB) if ps is not None else None
    if pub is None:
        raise TestFailure("notification without <publish/>: %s" % iq)
    fields = {"node": pub.get("node")}
    for x in iq.xml.iter("{%s}x" % DATA):
        for f in x.findall("{%s}field" % DATA):
            v = f.find("{%s}value" % DATA)
            fields[f.get("var")] = v.text if v is not None else ""
    return fields


async def scenario(host, port):
    clients = []
    try:
        app = await login(host, port, "app@%s/server" % DOMAIN)
        clients.append(app)
        app.serve_as_app_server()
        phone = await login(host, port, "alice@%s/phone" % DOMAIN, sm=True)
        clients.append(phone)
        bob = await login(host, port, "bob@%s/desk" % DOMAIN)
        clients.append(bob)
        await phone.until(lambda: "sm_enabled" in phone.events, "<enabled/>")
        iq = phone.Iq(stype="set")
        iq.append(enable_payload(app.boundjid.full, "phone-node", "s3cr3t"))
        try:
            await iq.send(timeout=STEP)
        except slixmpp.exceptions.IqError as e:
            raise TestFailure("<enable/> refused: %s" % e.iq)
        print("phone %s enabled push to %s" % (phone.boundjid.full, app.boundjid.full))

        phone.transport.abort()
        await phone.until(lambda: "disconnected" in phone.events, "the disconnection")
        bob.send_message(mto=phone.boundjid.full, mbody="wake up", mtype="chat")
        await app.until(lambda: app.pushes, "a notification")
        n = app.pushes[0]
        fields = summary_of(n)
        want = {"node": "phone-node", "FORM_TYPE": PUBSUB + "#publish-options",
                "message-count": "1", "last-message-sender": bob.boundjid.full,
                "secret": "s3cr3t"}
        for k, v in want.items():
            if fields.get(k) != v:
                raise TestFailure("notification field %s = %r, expected %r (%s)"
                                  % (k, fields.get(k), v, fields))
        if "last-message-body" in fields:
            raise TestFailure("the body went to the app server (include_body is off)")
        if n["from"].full != "alice@%s" % DOMAIN:
            raise TestFailure("notification from %s, not the bare JID" % n["from"])
        print("app server got the notification: %s" % fields)

        connect(phone, host, port)
        await phone.until(lambda: "session_resumed" in phone.events or "sm_failed" in phone.events,
                          "<resumed/>")
        if "sm_failed" in phone.events:
            raise TestFailure("the server refused the resumption")
        await phone.until(lambda: "wake up" in phone.bodies, "the message after resuming")
        await asyncio.sleep(0.3)
        if len(app.pushes) != 1:
            raise TestFailure("%d notifications, expected 1" % len(app.pushes))
        print("phone resumed and read the message")
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
        server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "push.toml"))
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        run(scenario("127.0.0.1", server.port), 40)
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
