#!/usr/bin/python3
"""End-to-end test of the `http` plugin (plugins/http/): an existing web
service as the user base, by the convention of Prosody's mod_auth_http and
MongooseIM's http auth, rosters as Prosody's mod_http_roster_admin, vCards
by GET.

Starts the test's own web service (http_service.py, 127.0.0.1, ephemeral
port) and djabberd-actors with one vhost per service behaviour, then:
  * SASL PLAIN on ok.test: right password -> success; wrong password and
    unknown user -> <not-authorized/>; a name and password that need
    url-encoding arrive intact;
  * down.test (nothing listens), garbage.test (200 "yes"), big.test (a
    "true" past max_response_bytes), badcreds.test (wrong Basic
    credentials, 401), untrusted.test (https with a certificate no CA of
    the system signed) -> <temporary-auth-failure/>, never a success;
    tls.test (the same service, its certificate as ca_file) logs in, and
    unverified.test (tls_verify = false) too, with a warning in the log;
  * slow.test: three logins held by the service until request_timeout_ms
    -> <temporary-auth-failure/>, and while they are held a login on
    ok.test succeeds (no actor thread waits on the network);
  * decline.test (credentials as one `basic_auth`): the service answers
    501, auth.static next in the chain accepts its own user;
  * the admin CLI through the service: `user add` (POST register, 201;
    again: 409 -> refused), `user passwd` (POST set_password; unknown: 404),
    `user del` (POST remove_user);
  * slixmpp (a real client) on ok.test: the roster from the service's
    JSON (names, groups, default subscription both), the vCard from its
    XML (and an empty one on 404), its photo's XEP-0153 hash in her
    available presence, and a contact added and one removed at
    the service reach the online client as roster pushes: on poll.test by
    roster_refresh_s, on ok.test when the web application POSTs the user
    names to the refresh endpoint (refresh_listen; 401 without its Basic
    credentials, 400 for a body that is not a list of names).

    /usr/bin/python3 tests/e2e/test_http_userbase.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the server log's tail otherwise.
Every wait is bounded; the whole test has a hard limit (--limit, 120 s).
"""

import argparse
import asyncio
import base64
import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import cluster_lib as cl  # noqa: E402  (TestFailure, run)
import scn_server as ss  # noqa: E402  (Server: free port + temp config)
from http_service import Service  # noqa: E402

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed")
    sys.exit(1)

STEP = 10  # seconds per network step
PHOTO = b"\x89PNG\r\n\x1a\n not really a picture"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BASIC = 'basic_auth_user = "xmpp"\n  basic_auth_password = "service-secret"'


TestFailure = cl.TestFailure


def config(svc, tsvc, cert, dead_port, refresh_port):
    def vhost(domain, mode, extra="", after="", creds=BASIC, svc=svc):
        return """
[[vhost]]
domain = "%s"
  [[vhost.plugin]]
  type = "http"
  auth_url = "%s"
  %s
  %s
%s""" % (domain, svc.url(mode, "auth"), creds, extra, after)

    return """[server]
log_level = "info"
data_dir  = "@DATA_DIR@"

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@
""" + vhost("ok.test", "ok", """roster_url = "%s"
  vcard_url = "%s"
  refresh_listen = "127.0.0.1:%d"
  refresh_basic_auth = "webapp:refresh-secret"
""" % (
      svc.url("ok", "roster/%s"), svc.url("ok", "vcard/%s"), refresh_port), """
  [[vhost.plugin]]
  type = "disco"
""") + vhost("slow.test", "slow", "request_timeout_ms = 4000") \
     + vhost("poll.test", "ok", """roster_url = "%s"
  roster_refresh_s = 1""" % svc.url("ok", "roster/%s")) \
     + vhost("garbage.test", "garbage") \
     + vhost("tls.test", "ok", 'ca_file = "%s"' % cert, svc=tsvc) \
     + vhost("untrusted.test", "ok", svc=tsvc) \
     + vhost("unverified.test", "ok", "tls_verify = false", svc=tsvc) \
     + vhost("big.test", "big", "max_response_bytes = 1024") \
     + vhost("decline.test", "decline", creds='basic_auth = "xmpp:service-secret"',
             after="""
  [[vhost.plugin]]
  type  = "auth.static"
  users = { carol = "static-pw" }
""") + """
[[vhost]]
domain = "down.test"
  [[vhost.plugin]]
  type = "http"
  auth_url = "http://127.0.0.1:%d/auth"
[[vhost]]
domain = "badcreds.test"
  [[vhost.plugin]]
  type = "http"
  auth_url = "%s"
  basic_auth_user = "xmpp"
  basic_auth_password = "not-the-secret"
""" % (dead_port, svc.url("ok", "auth"))


def sasl_plain(port, domain, user, password):
    """A bare XMPP client up to the SASL outcome: 'success' or the
    <failure/> condition's name."""
    s = socket.create_connection(("127.0.0.1", port), timeout=STEP)
    s.settimeout(STEP)
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = [0]

    def next_top():
        while True:
            for ev, el in parser.read_events():
                if ev == "start":
                    depth[0] += 1
                else:
                    depth[0] -= 1
                    if depth[0] == 1:
                        return el
            data = s.recv(65536)
            if not data:
                raise TestFailure("%s@%s: connection closed" % (user, domain))
            parser.feed(data)

    try:
        s.sendall(("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
                   "xmlns='jabber:client' "
                   "xmlns:stream='http://etherx.jabber.org/streams'>" % domain).encode())
        feats = next_top()
        mechs = [m.text for m in feats.iter("{%s}mechanism" % NS_SASL)]
        if "PLAIN" not in mechs:
            raise TestFailure("%s: PLAIN not offered (%s)" % (domain, mechs))
        blob = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        s.sendall(("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, blob)).encode())
        out = next_top()
        if out.tag == "{%s}success" % NS_SASL:
            return "success"
        if out.tag == "{%s}failure" % NS_SASL and len(out):
            return out[0].tag.split("}")[1]
        raise TestFailure("%s: unexpected SASL answer %s" % (domain, out.tag))
    finally:
        s.close()


def expect_login(port, domain, user, pw, want):
    got = sasl_plain(port, domain, user, pw)
    if got != want:
        raise TestFailure("%s@%s: SASL %s, expected %s" % (user, domain, got, want))
    print("%s@%s: %s: ok" % (user, domain, got))


def logins(port, svc):
    expect_login(port, "ok.test", "alice", "wonder-pw", "success")
    expect_login(port, "ok.test", "alice", "wrong", "not-authorized")
    expect_login(port, "ok.test", "nobody", "x", "not-authorized")
    expect_login(port, "ok.test", "zoë+x", "p&ss=w rd%+", "success")
    for d in ("down.test", "garbage.test", "big.test", "badcreds.test",
              "untrusted.test"):
        expect_login(port, d, "alice", "wonder-pw", "temporary-auth-failure")
    expect_login(port, "tls.test", "alice", "wonder-pw", "success")
    expect_login(port, "unverified.test", "alice", "wonder-pw", "success")
    expect_login(port, "decline.test", "carol", "static-pw", "success")
    expect_login(port, "decline.test", "carol", "wrong", "not-authorized")

    # Three logins held by the slow service; meanwhile ok.test works.
    results = []
    held = [threading.Thread(target=lambda: results.append(
        sasl_plain(port, "slow.test", "alice", "wonder-pw"))) for _ in range(3)]
    for t in held:
        t.start()
    for _ in held:
        if not svc.slow_arrived.acquire(timeout=STEP):
            raise TestFailure("slow.test: the service did not get the requests")
    expect_login(port, "ok.test", "bob", "builder-pw", "success")
    if len(results) == 3:
        raise TestFailure("slow.test: the held logins ended before ok.test's")
    print("ok.test login while 3 slow.test logins are held: ok")
    for t in held:
        t.join(STEP + 5)
    if results != ["temporary-auth-failure"] * 3:
        raise TestFailure("slow.test: %s, expected temporary-auth-failure" % results)
    print("slow.test: temporary-auth-failure after request_timeout_ms: ok")
    svc.release.set()


def admin(server, svc, args, password=None):
    cfg = os.path.join(server.tmp, "server.toml")
    p = subprocess.run([server.binary, "user"] + args[:1] + ["--config", cfg] + args[1:],
                       input=(password + "\n") if password else "", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout


def accounts(server, svc):
    rc, out = admin(server, svc, ["add", "eve@ok.test"], "eve-pw")
    if rc != 0 or svc.accounts.get("eve") != "eve-pw":
        raise TestFailure("user add eve: %d %s" % (rc, out))
    last = svc.requests[-1]
    if last[0] != "POST" or not last[1].endswith("/register") \
            or last[2] != {"user": "eve", "server": "ok.test", "pass": "eve-pw"}:
        raise TestFailure("register request: %s" % (last,))
    rc, out = admin(server, svc, ["add", "eve@ok.test"], "again")
    if rc == 0 or svc.accounts["eve"] != "eve-pw":
        raise TestFailure("user add of an existing user (409) succeeded: %s" % out)
    rc, out = admin(server, svc, ["passwd", "eve@ok.test"], "eve-new")
    if rc != 0 or svc.accounts["eve"] != "eve-new":
        raise TestFailure("user passwd eve: %d %s" % (rc, out))
    rc, out = admin(server, svc, ["passwd", "zed@ok.test"], "z")
    if rc == 0:
        raise TestFailure("user passwd of an unknown user (404) succeeded")
    rc, out = admin(server, svc, ["del", "eve@ok.test"])
    if rc != 0 or "eve" in svc.accounts:
        raise TestFailure("user del eve: %d %s" % (rc, out))
    print("admin CLI through the service (register 201/409, set_password "
          "204/404, remove_user 204): ok")


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.pushes = asyncio.Queue()
        self.register_plugin("xep_0054")
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", lambda _e: self.ready.done()
                               or self.ready.set_result(True))
        self.add_event_handler("failed_auth", lambda *_: self.ready.done()
                               or self.ready.set_exception(TestFailure("auth failed")))
        self.add_event_handler("roster_update", lambda iq: self.pushes.put_nowait(iq))
        self.presences = asyncio.Queue()
        self.add_event_handler("presence_available",
                               lambda p: self.presences.put_nowait(p))


async def login(port, jid, pw):
    bot = Bot(jid, pw)
    bot.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    await asyncio.wait_for(bot.ready, STEP)
    await bot.get_roster(timeout=STEP)
    return bot


async def expect_pushes(bot, want):
    """Waits (bounded) until roster pushes named every JID of `want`
    (jid -> subscription) and checks their subscriptions."""
    seen = {}
    while not set(want) <= set(seen):
        push = await asyncio.wait_for(bot.pushes.get(), STEP)
        if push["type"] != "set":
            continue  # slixmpp queues the roster result too
        for j, it in push["roster"]["items"].items():
            seen[str(j)] = it["subscription"]
    got = {j: seen[j] for j in want}
    if got != want:
        raise TestFailure("%s: roster pushes %s, expected %s" % (bot.boundjid, got, want))


def post_refresh(port, body, creds):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP)
    headers = {"Content-Type": "application/json"}
    if creds:
        headers["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
    c.request("POST", "/roster_admin/refresh", body=body, headers=headers)
    status = c.getresponse().status
    c.close()
    return status


async def client(port, svc, refresh_port):
    bots = []
    try:
        alice = await login(port, "alice@ok.test/slix", "wonder-pw")
        bots.append(alice)
        polled = await login(port, "alice@poll.test/slix", "wonder-pw")
        bots.append(polled)
        items = {j: alice.client_roster[j] for j in alice.client_roster.keys()}
        bob = items.get("bob@ok.test")
        if bob is None or bob["name"] != "Bob" or bob["subscription"] != "both" \
                or list(bob["groups"]) != ["Friends"]:
            raise TestFailure("roster item bob: %s" % (items,))
        carol = items.get("carol@ok.test")
        if carol is None or carol["subscription"] != "both":
            raise TestFailure("roster item carol (bare name, default both): %s" % (items,))
        print("roster from the service's JSON: ok (%s)" % sorted(items))

        v = await alice["xep_0054"].get_vcard("alice@ok.test", timeout=STEP)
        if v["vcard_temp"]["FN"] != "Alice Liddell":
            raise TestFailure("vCard of alice: %s" % v)
        v = await alice["xep_0054"].get_vcard("bob@ok.test", timeout=STEP)
        if v["vcard_temp"]["FN"]:
            raise TestFailure("vCard of bob (404 at the service): %s" % v)
        print("vCards from the service (and an empty one on 404): ok")

        # XEP-0153: her own available presence comes back with the hash.
        alice.send_presence()
        while True:
            p = await asyncio.wait_for(alice.presences.get(), STEP)
            if p["from"] == alice.boundjid:
                break
        photo = p.xml.find("{vcard-temp:x:update}x/{vcard-temp:x:update}photo")
        want = hashlib.sha1(PHOTO).hexdigest()
        if photo is None or photo.text != want:
            raise TestFailure("XEP-0153 photo hash in presence: %s, expected %s"
                              % (None if photo is None else photo.text, want))
        print("XEP-0153 photo hash of the service's vCard in presence: ok")

        with svc.lock:
            svc.rosters["alice"] = {"bob@ok.test": svc.rosters["alice"]["bob@ok.test"],
                                    "dave@ok.test": {"name": "Dave", "groups": ["Work"]}}
        # poll.test polls (roster_refresh_s = 1).
        await expect_pushes(polled, {"dave@ok.test": "both", "carol@poll.test": "remove"})
        print("roster changed at the service -> pushes (roster_refresh_s): ok")
        # ok.test is told, as mod_http_roster_admin's web application does.
        for body, creds, want in (('["alice"]', None, 401),
                                  ('["alice"]', "webapp:wrong", 401),
                                  ('{"alice": 1}', "webapp:refresh-secret", 400),
                                  ('["alice"]', "webapp:refresh-secret", 200)):
            got = await asyncio.get_event_loop().run_in_executor(
                None, post_refresh, refresh_port, body, creds)
            if got != want:
                raise TestFailure("POST /roster_admin/refresh %s (%s): %d, expected %d"
                                  % (body, creds, got, want))
        await expect_pushes(alice, {"dave@ok.test": "both", "carol@ok.test": "remove"})
        print("POST /roster_admin/refresh (401 without credentials, 400 for "
              "garbage) -> pushes: ok")
    finally:
        for b in bots:
            b.disconnect()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=120)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    svc = Service(("ok.test", "poll.test")).start()
    cert = ss.test_certificates()["CERT"]
    tsvc = Service(("tls.test", "untrusted.test", "unverified.test"),
                   tls=(cert["cert"], cert["key"])).start()
    tsvc.accounts = svc.accounts
    svc.accounts.update({"alice": "wonder-pw", "bob": "builder-pw",
                         "zoë+x": "p&ss=w rd%+"})
    svc.rosters["alice"] = {"bob@ok.test": {"name": "Bob", "groups": ["Friends"],
                                            "subscription": "both"},
                            "carol": {"name": "Carol"}}
    svc.vcards["alice"] = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><PHOTO>"
                           "<TYPE>image/png</TYPE><BINVAL>%s</BINVAL></PHOTO></vCard>"
                           % base64.b64encode(PHOTO).decode())
    tmpl = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    refresh_port = ss.free_port()
    tmpl.write(config(svc, tsvc, cert["cert"], ss.free_port(), refresh_port))
    tmpl.close()
    server = ss.Server(os.path.abspath(args.server), tmpl.name)
    try:
        server.start()
        logins(server.port, svc)
        accounts(server, svc)
        cl.run(client(server.port, svc, refresh_port), 60)
        if server.proc.poll() is not None:
            raise TestFailure("the server exited (status %s)" % server.proc.returncode)
        log = server.log_tail(100000)
        if "unverified.test: tls_verify = false" not in log:
            raise TestFailure("no warning for tls_verify = false")
        for secret in ("wonder-pw", "service-secret", "p&ss"):
            if secret in log:
                raise TestFailure("the server log shows a password (%r)" % secret)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        signal.alarm(0)
        print("PASS test_http_userbase")
        return 0
    except (TestFailure, ss.Failure) as e:
        signal.alarm(0)
        print("FAIL test_http_userbase: %s" % e)
        print("--- server log (%s) ---" % server.log_path)
        print(server.log_tail(60))
        return 1
    finally:
        signal.alarm(0)
        server.stop()
        server.cleanup()
        svc.stop()
        tsvc.stop()
        os.unlink(tmpl.name)


if __name__ == "__main__":
    sys.exit(main())
