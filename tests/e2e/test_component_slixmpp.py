#!/usr/bin/python3
"""End-to-end test of XEP-0114 external components with a real component
library: Debian's python3-slixmpp, its ComponentXMPP, serves the
subdomain gw.localhost on the server's component listener, and a slixmpp
client (alice) talks to it through the server
(scenarios/configs/component.toml):
  * the component connects with its secret (the handshake);
  * alice -> bot@gw.localhost message, answered by the component;
  * alice asks the component's domain disco#info, software version
    (XEP-0092) and ping (XEP-0199): the component's plugins answer;
  * the component pings alice's full JID (she answers) and asks the
    server's disco#info (the server answers for its domain);
  * a wrong secret is refused, and a second component of the domain too;
  * once the component has left, alice's message to it comes back as
    <service-unavailable/>.

    /usr/bin/python3 tests/e2e/test_component_slixmpp.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason (and the end of the server
log) and exits 1. Every step is bounded; the whole test by --limit.
"""

import argparse
import asyncio
import logging
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402

try:
    import slixmpp
    from slixmpp.componentxmpp import ComponentXMPP
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

STEP = 10  # seconds per network step
CONFIG = os.path.join(REPO, "scenarios", "configs", "component.toml")


class TestFailure(Exception):
    pass


class Gateway(ComponentXMPP):
    """A component that echoes messages and answers disco, version, ping."""

    def __init__(self, secret):
        super().__init__("gw.localhost", secret)
        self.ready = asyncio.get_event_loop().create_future()
        for p in ("xep_0030", "xep_0092", "xep_0199"):
            self.register_plugin(p)
        self["xep_0030"].add_identity(category="gateway", itype="irc", name="Echo gateway")
        self["xep_0092"].software_name = "gw-test"
        self["xep_0092"].version = "1.0"
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("disconnected", self._on_disconnected)

    def _on_start(self, _event):
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_disconnected(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("component disconnected before the handshake"))

    def _on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.send_message(mto=msg["from"], mfrom=msg["to"], mbody="echo: " + msg["body"], mtype=msg["type"])


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        for p in ("xep_0030", "xep_0092", "xep_0199"):
            self.register_plugin(p)
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", lambda _e: self.ready.done() or self.ready.set_result(True))
        self.add_event_handler("message", self.inbox.put_nowait)
        self.add_event_handler("failed_auth", lambda *_: self.ready.done()
                               or self.ready.set_exception(TestFailure("alice: authentication failed")))


async def connect_component(port, secret):
    gw = Gateway(secret)
    gw.connect("127.0.0.1", port)
    try:
        await asyncio.wait_for(asyncio.shield(gw.ready), STEP)
    except asyncio.TimeoutError:
        gw.abort()
        raise TestFailure("component: no accepted handshake within %ds" % STEP)
    return gw


async def refused_component(port, secret, why):
    """A component that must not be accepted: disconnected, never started."""
    gw = Gateway(secret)
    gw.connect("127.0.0.1", port)
    try:
        await asyncio.wait_for(asyncio.shield(gw.ready), STEP)
    except TestFailure:
        gw.abort()  # no reconnection attempts
        return  # disconnected before the handshake was accepted: right
    except asyncio.TimeoutError:
        gw.abort()
        raise TestFailure("component with %s: neither accepted nor refused within %ds" % (why, STEP))
    gw.abort()
    raise TestFailure("component with %s was accepted" % why)


async def next_message(bot, what):
    try:
        return await asyncio.wait_for(bot.inbox.get(), STEP)
    except asyncio.TimeoutError:
        raise TestFailure("alice: %s not received within %ds" % (what, STEP))


async def scenario(server):
    gw = alice = None
    try:
        await refused_component(server.component_port, "wrong", "a wrong secret")
        print("wrong secret refused: ok")
        gw = await connect_component(server.component_port, "s3cret")
        print("component connected: ok")
        await refused_component(server.component_port, "s3cret", "the domain taken")
        print("second component refused: ok")

        alice = Client("alice@localhost/e2e", "pw")
        alice.connect(address=("127.0.0.1", server.port), force_starttls=False, disable_starttls=True)
        await asyncio.wait_for(alice.ready, STEP)

        alice.send_message(mto="bot@gw.localhost", mbody="hello", mtype="chat")
        m = await next_message(alice, "the component's echo")
        if m["type"] == "error" or m["body"] != "echo: hello" or m["from"].bare != "bot@gw.localhost":
            raise TestFailure("unexpected answer of the component: %s" % m)
        print("message to the component and its answer: ok")

        info = await alice["xep_0030"].get_info(jid="gw.localhost", timeout=STEP)
        ids = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
        if ("gateway", "irc") not in ids:
            raise TestFailure("disco#info of gw.localhost: no gateway/irc identity (got %s)" % ids)
        ver = await alice["xep_0092"].get_version("gw.localhost", timeout=STEP)
        if ver["software_version"]["name"] != "gw-test":
            raise TestFailure("software version of gw.localhost: %s" % ver)
        await alice["xep_0199"].ping(jid="gw.localhost", timeout=STEP)
        print("disco#info, version and ping answered by the component: ok")

        await gw["xep_0199"].ping(jid=alice.boundjid.full, ifrom="gw.localhost", timeout=STEP)
        sinfo = await gw["xep_0030"].get_info(jid="localhost", ifrom="gw.localhost", timeout=STEP)
        if "urn:xmpp:ping" not in sinfo["disco_info"]["features"]:
            raise TestFailure("the server's disco#info, asked by the component: %s" % sinfo)
        print("the component pings alice and asks the server: ok")

        fut = gw.disconnect(wait=1.0)
        if fut is not None:
            await asyncio.wait_for(fut, STEP)
        gw = None
        await asyncio.sleep(0.3)
        alice.send_message(mto="bot@gw.localhost", mbody="anyone?", mtype="chat")
        m = await next_message(alice, "the error for the departed component")
        if m["type"] != "error" or m["error"]["condition"] != "service-unavailable":
            raise TestFailure("expected <service-unavailable/>, got %s" % m)
        print("component gone: service-unavailable: ok")
    finally:
        for b in (gw, alice):
            if b is not None:
                b.abort()


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
    server = sr.Server(os.path.abspath(args.server), CONFIG)
    try:
        server.start()
        print("server started: c2s %d, component %d (log %s)" % (server.port, server.component_port,
                                                                  server.log_path))
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(asyncio.wait_for(scenario(server), args.limit - 10))
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
        if server.proc.poll() is not None:
            raise TestFailure("the server exited during the test (status %s)" % server.proc.returncode)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        print("PASS test_component_slixmpp")
        return 0
    except (TestFailure, sr.Failure, asyncio.TimeoutError, slixmpp.exceptions.IqError,
            slixmpp.exceptions.IqTimeout) as e:
        print("FAIL test_component_slixmpp: %r" % e)
        print("--- last lines of the server log (%s) ---" % server.log_path)
        print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
