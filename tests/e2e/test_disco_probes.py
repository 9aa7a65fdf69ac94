#!/usr/bin/python3
"""Every feature disco advertises is answered (XEP-0030 §3: a feature
listed is a protocol the entity supports), under the default
configuration.

Starts djabberd-actors with config/server.toml itself (ports, data_dir and
the certificate replaced by the test's own), adds alice and bob with the
admin CLI (`user add`), logs alice in with python3-slixmpp over STARTTLS,
reads disco#info of the server and of alice's bare JID, and for every
advertised feature var sends the probes of PROBES below: minimal requests
of that namespace. A probe fails when its answer is <service-unavailable/>
or <feature-not-implemented/> (nobody handles it) or does not come in
time; any other answer, errors included (<item-not-found/>, <forbidden/>),
shows a handler. A feature without an entry in PROBES fails too, so a
plugin that starts advertising something needs a probe here. A feature
that is no request (PEP notifications, stanza ids) names the scenario
that proves it in NOT_REQUESTS; msgoffline is probed with a message to
offline bob (PROBE_FUNCS). The reverse is checked for what clients look
for at login (EXPECTED): handled but not advertised fails too.

    /usr/bin/python3 tests/e2e/test_disco_probes.py --server build/djabberd-actors

Exits 0 on success; otherwise prints each failure (and the end of the
server log) and exits 1. Every step is bounded, the whole test by --limit.
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: free port + temp config + start/stop)

try:
    import slixmpp
    from slixmpp.exceptions import IqError, IqTimeout
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

NAME = "test_disco_probes"
DOMAIN = "localhost"
STEP = 10  # seconds per network step
NOT_HANDLED = ("service-unavailable", "feature-not-implemented")
DISCO_INFO = "http://jabber.org/protocol/disco#info"
MAM_FORM = ("<x xmlns='jabber:x:data' type='submit'>"
            "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>"
            "<field var='after-id'><value>no-such-id</value></field></x>")
PUBSUB = "http://jabber.org/protocol/pubsub"
PS_OWNER = PUBSUB + "#owner"
NODE = "urn:xmpp:probe"


def publish(node, item, access=None):
    """A PEP publish (XEP-0060 §7.1), with publish-options (§7.1.5)."""
    opts = ""
    if access:
        opts = ("<publish-options><x xmlns='jabber:x:data' type='submit'>"
                "<field var='FORM_TYPE' type='hidden'><value>%s#publish-options"
                "</value></field><field var='pubsub#access_model'><value>%s"
                "</value></field></x></publish-options>" % (PUBSUB, access))
    return (None, "set", "<pubsub xmlns='%s'><publish node='%s'><item id='%s'>"
            "<probe xmlns='%s'/></item></publish>%s</pubsub>"
            % (PUBSUB, node, item, NODE, opts))


def owner(op, node):
    return (None, "get" if op == "configure" else "set",
            "<pubsub xmlns='%s'><%s node='%s'/></pubsub>" % (PS_OWNER, op, node))


ITEMS = (None, "get", "<pubsub xmlns='%s'><items node='%s'/></pubsub>" % (PUBSUB, NODE))
RETRACT = (None, "set", "<pubsub xmlns='%s'><retract node='%s'><item id='r1'/>"
           "</retract></pubsub>" % (PUBSUB, NODE))


def create(node):
    return (None, "set", "<pubsub xmlns='%s'><create node='%s'/></pubsub>" % (PUBSUB, node))


# Requests every probe may rely on (each must get a result).
SETUP = [publish(NODE, "p1")]
# A probe: (to, type, payload). to: "server" (the domain), "account"
# (alice's bare JID) or None (no 'to': the client's own account, RFC 6120
# §8.1.1.1). The payload is the iq's child; {alice} is her bare JID.
PROBES = {
    DISCO_INFO: [("server", "get", "<query xmlns='%s'/>" % DISCO_INFO),
                 ("account", "get", "<query xmlns='%s'/>" % DISCO_INFO)],
    "http://jabber.org/protocol/disco#items": [
        ("server", "get", "<query xmlns='http://jabber.org/protocol/disco#items'/>"),
        ("account", "get", "<query xmlns='http://jabber.org/protocol/disco#items'/>")],
    "urn:xmpp:ping": [("server", "get", "<ping xmlns='urn:xmpp:ping'/>")],
    "jabber:iq:version": [("server", "get", "<query xmlns='jabber:iq:version'/>")],
    "jabber:iq:last": [("server", "get", "<query xmlns='jabber:iq:last'/>")],
    "jabber:iq:register": [("server", "get", "<query xmlns='jabber:iq:register'/>")],
    "jabber:iq:roster": [(None, "get", "<query xmlns='jabber:iq:roster'/>")],
    "jabber:iq:private": [(None, "get", "<query xmlns='jabber:iq:private'>"
                           "<probe xmlns='urn:xmpp:probe'/></query>")],
    "vcard-temp": [(None, "get", "<vCard xmlns='vcard-temp'/>"),
                   ("account", "get", "<vCard xmlns='vcard-temp'/>")],
    "urn:xmpp:blocking": [(None, "get", "<blocklist xmlns='urn:xmpp:blocking'/>")],
    "urn:xmpp:carbons:2": [(None, "set", "<enable xmlns='urn:xmpp:carbons:2'/>"),
                           (None, "set", "<disable xmlns='urn:xmpp:carbons:2'/>")],
    "urn:xmpp:mam:2": [(None, "set", "<query xmlns='urn:xmpp:mam:2'/>"),
                       (None, "get", "<prefs xmlns='urn:xmpp:mam:2'/>")],
    # XEP-0313 §5.1.2: before-id/after-id/ids in the query form.
    "urn:xmpp:push:0": [
        (None, "set", "<enable xmlns='urn:xmpp:push:0' jid='push.example.org' "
         "node='disco-probe'/>"),
        (None, "set", "<disable xmlns='urn:xmpp:push:0' jid='push.example.org' "
         "node='disco-probe'/>")],
    "urn:xmpp:mam:2#extended": [
        (None, "set", "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
         "type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2"
         "</value></field><field var='after-id'><value>no-such-id</value></field>"
         "</x></query>")],
    "urn:xmpp:extdisco:2": [("server", "get", "<services xmlns='urn:xmpp:extdisco:2'/>"),
                            ("server", "get", "<credentials xmlns='urn:xmpp:extdisco:2'>"
                             "<service host='127.0.0.1' type='stun'/></credentials>")],
    PUBSUB: [ITEMS],
    PUBSUB + "#access-open": [publish(NODE + ":open", "o1", "open")],
    PUBSUB + "#access-presence": [publish(NODE + ":presence", "p1", "presence")],
    PUBSUB + "#access-whitelist": [publish(NODE + ":whitelist", "w1", "whitelist")],
    PUBSUB + "#auto-create": [publish(NODE + ":auto", "a1")],
    PUBSUB + "#config-node": [owner("configure", NODE)],
    PUBSUB + "#create-nodes": [create(NODE + ":created")],
    PUBSUB + "#delete-items": [publish(NODE, "r1"), RETRACT],
    PUBSUB + "#delete-nodes": [create(NODE + ":doomed"), owner("delete", NODE + ":doomed")],
    PUBSUB + "#item-ids": [publish(NODE, "chosen-id")],
    PUBSUB + "#persistent-items": [ITEMS],
    PUBSUB + "#publish": [publish(NODE, "p2")],
    PUBSUB + "#publish-options": [publish(NODE + ":open", "o2", "open")],
    PUBSUB + "#purge-nodes": [owner("purge", NODE)],
    PUBSUB + "#retract-items": [publish(NODE, "r1"), RETRACT],
    PUBSUB + "#retrieve-items": [ITEMS],
    PUBSUB + "#subscribe": [(None, "set", "<pubsub xmlns='%s'><subscribe node='%s' "
                             "jid='{alice}'/></pubsub>" % (PUBSUB, NODE))],
    # XEP-0411: bookmarks in private XML are the PEP ones.
    "urn:xmpp:bookmarks:1#compat": [(None, "get", "<query xmlns='jabber:iq:private'>"
                                     "<storage xmlns='storage:bookmarks'/></query>")],
    # XEP-0398: the vCard answered (the bridge is pep/vcard_avatar).
    "urn:xmpp:pep-vcard-conversion:0": [(None, "get", "<vCard xmlns='vcard-temp'/>")],
}
# What the default configuration must advertise, where clients look for
# it at login (Conversations, Gajim, Dino, Monal, Siskin): a feature the
# server handles but does not list is as broken for them as the reverse.
EXPECTED = {
    "server": ["urn:xmpp:carbons:2", "urn:xmpp:blocking", "urn:xmpp:ping",
               "urn:xmpp:extdisco:2", "msgoffline", "vcard-temp"],
    "account": ["urn:xmpp:mam:2", "urn:xmpp:sid:0", PUBSUB + "#publish-options",
                "urn:xmpp:bookmarks:1#compat"],
}
# Features that are not a request: the scenario or test that shows them
# handled (checked to exist, so a renamed proof fails here).
NOT_REQUESTS = {
    PUBSUB + "#auto-subscribe": "scenarios/pep/notify_caps.scenario",
    PUBSUB + "#filtered-notifications": "scenarios/pep/notify_caps.scenario",
    PUBSUB + "#presence-notifications": "scenarios/pep/notify_caps.scenario",
    PUBSUB + "#last-published": "tests/e2e/test_pep_slixmpp.py",
    "urn:xmpp:sid:0": "scenarios/mam/archive_and_query.scenario",
}


class TestFailure(Exception):
    pass


async def probe_offline(alice, host, port):
    """XEP-0160: a message to offline bob reaches him at his next login."""
    alice.send_message(mto="bob@%s" % DOMAIN, mbody="kept for you", mtype="chat")
    await alice.ask("server", "get", "<ping xmlns='urn:xmpp:ping'/>")  # sent before bob logs in
    bob = Client("bob@%s/probe" % DOMAIN, "pw")
    got = asyncio.get_event_loop().create_future()
    bob.add_event_handler("message", lambda m: got.done() or got.set_result(m["body"]))
    bob.add_event_handler("session_start", lambda _e: bob.send_presence())
    bob.connect(address=(host, port), force_starttls=True)
    try:
        await asyncio.wait_for(bob.ready, STEP)
        body = await asyncio.wait_for(got, STEP)
        return ("result", None) if body == "kept for you" else ("error", "got %r" % body)
    except asyncio.TimeoutError:
        return ("timeout", None)
    finally:
        fut = bob.disconnect(wait=1.0)
        if fut is not None:
            try:
                await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


# Features whose probe is more than one request: a coroutine (alice, host,
# port) -> ("result" | "error" | "timeout", detail).
PROBE_FUNCS = {
    "msgoffline": probe_offline,
}


def config_template(work):
    """config/server.toml with the test's port, data dir and certificate
    placeholders (tests/scenarios/scn_server.py fills them in)."""
    with open(os.path.join(REPO, "config", "server.toml"), encoding="utf-8") as f:
        text = f.read()
    subs = [(r"(?m)^(\s*port\s*=\s*)5222\b", r"\g<1>@PORT@"),
            (r"(?m)^(\s*port\s*=\s*)5223\b", r"\g<1>@TLS_PORT@"),
            (r"(?m)^(data_dir\s*=\s*)\"data\"", r'\g<1>"@DATA_DIR@"'),
            (r"(?m)^(tls_cert\s*=\s*)\"[^\"]*\"", r'\g<1>"@CERT@"'),
            (r"(?m)^(tls_key\s*=\s*)\"[^\"]*\"", r'\g<1>"@KEY@"')]
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text)
        if n != 1:
            raise TestFailure("config/server.toml: %r matched %d times, not once" % (pat, n))
    path = os.path.join(work, "server.toml.in")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def add_user(server, user):
    cfg = os.path.join(server.tmp, "server.toml")
    p = subprocess.run([server.binary, "user", "add", "--config", cfg, "%s@%s" % (user, DOMAIN)],
                       input=b"pw\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=server.tmp, timeout=STEP * 3)
    if p.returncode != 0:
        raise TestFailure("user add %s: %d %s" % (user, p.returncode, p.stdout.decode()))


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        # The test certificate is self-signed.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("failed_auth", self._on_failed)
        self.add_event_handler("disconnected", self._on_failed)

    def _on_start(self, _event):
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: no session" % self.boundjid.bare))

    async def ask(self, to, type_, payload):
        """The answer to an iq: ("result", payload) or ("error", condition)."""
        iq = self.Iq()
        iq["type"] = type_
        if to is not None:
            iq["to"] = to
        iq.append(ET.fromstring(payload))
        try:
            res = await iq.send(timeout=STEP)
            return "result", res
        except IqError as e:
            return "error", e.iq["error"]["condition"]
        except IqTimeout:
            return "timeout", None


async def features_of(client, to):
    kind, res = await client.ask(to, "get", "<query xmlns='%s'/>" % DISCO_INFO)
    if kind != "result":
        raise TestFailure("disco#info of %s: %s %s" % (to, kind, res))
    q = res.xml.find("{%s}query" % DISCO_INFO)
    return [f.get("var") for f in q.findall("{%s}feature" % DISCO_INFO)]


async def scenario(host, port):
    alice = Client("alice@%s/probe" % DOMAIN, "pw")
    alice.connect(address=(host, port), force_starttls=True)
    failures = []
    try:
        await asyncio.wait_for(alice.ready, STEP)
        bare = alice.boundjid.bare
        targets = {"server": DOMAIN, "account": bare, None: None}
        advertised = {}
        for to, type_, payload in SETUP:
            kind, res = await alice.ask(to, type_, payload)
            if kind != "result":
                raise TestFailure("setup %s: %s %s" % (payload, kind, res))
        for where, to in (("server", DOMAIN), ("account", bare)):
            for f in await features_of(alice, to):
                advertised.setdefault(f, []).append(where)
        for where, fs in EXPECTED.items():
            for f in fs:
                if where not in advertised.get(f, []):
                    failures.append("%s is not advertised on the %s (disco#info of %s)"
                                    % (f, where, DOMAIN if where == "server" else bare))
        print("advertised: %s" % ", ".join("%s (%s)" % (f, "+".join(w))
                                           for f, w in sorted(advertised.items())))
        for feature in sorted(advertised):
            if feature in NOT_REQUESTS:
                proof = NOT_REQUESTS[feature]
                if not os.path.exists(os.path.join(REPO, proof)):
                    failures.append("%s: its proof %s does not exist" % (feature, proof))
                print("  %s: not a request (%s)" % (feature, proof))
                continue
            if feature in PROBE_FUNCS:
                kind, res = await PROBE_FUNCS[feature](alice, host, port)
                if kind != "result":
                    failures.append("%s: %s %s" % (feature, kind, res or ""))
                else:
                    print("  %s: %s" % (feature, PROBE_FUNCS[feature].__doc__.split("\n")[0]))
                continue
            probes = PROBES.get(feature)
            if not probes:
                failures.append("%s is advertised but has no probe in PROBES" % feature)
                continue
            for to, type_, payload in probes:
                payload = payload.replace("{alice}", bare)
                kind, res = await alice.ask(targets[to], type_, payload)
                what = "%s %s to %s" % (type_, payload[:60], targets[to] or "(own account)")
                if kind == "timeout" or (kind == "error" and res in NOT_HANDLED):
                    failures.append("%s: %s -> %s %s" % (feature, what, kind, res or ""))
                else:
                    print("  %s: %s -> %s%s" % (feature, what, kind,
                                               "" if kind == "result" else " " + res))
    finally:
        fut = alice.disconnect(wait=1.0)
        if fut is not None:
            try:
                await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
    if failures:
        raise TestFailure("disco and the server disagree:\n  " + "\n  ".join(failures))


def run(coro, limit):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(coro, limit))
    except asyncio.TimeoutError:
        raise TestFailure("the client did not finish within %d s" % limit)
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
    work = tempfile.mkdtemp(prefix="dja-disco-probes-")
    try:
        binary = os.path.abspath(args.server)
        if not os.access(binary, os.X_OK):
            raise TestFailure("server binary not found: %s" % binary)
        server = sr.Server(binary, config_template(work))
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        add_user(server, "alice")
        add_user(server, "bob")
        run(scenario("127.0.0.1", server.port), args.limit - 10)
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
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    sys.exit(main())
