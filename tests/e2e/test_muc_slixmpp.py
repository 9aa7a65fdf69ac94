#!/usr/bin/python3
"""End-to-end XEP-0045 multi-user chat with a real client library
(Debian's python3-slixmpp and its xep_0045 plugin), three users in one
room on conference.localhost:

  * alice creates the room (status 201, §10.1.1) and accepts the default
    configuration (instant room, §10.1.2); bob joins; alice says two things;
  * carol joins asking for history (§7.2.15): she gets both lines, each with
    a <delay/> from the room; everyone sees everyone's presence (§7.2.3);
  * each of the three says one line: every occupant gets all three (§7.4);
  * alice (owner, moderator) sets the subject (§8.1): all three see it;
  * bob changes his nick to Robert (§7.6): the others see Bob leave with
    status 303 naming Robert, then Robert arrive;
  * carol sends Robert a private message through the room (§7.5): it comes
    from room/Carol;
  * alice kicks carol (role none, §8.2): carol gets her unavailable
    presence with 307 and 110, the others see 307.

Against djabberd-actors (--server, what ctest runs): the server starts with
a private config serving the MUC plugin (--muc-plugin, default muc.sqlite)
on conference.localhost. If the build has no such plugin, or the server
answers disco#info for conference.localhost without a conference identity,
the test is skipped (exit 77): MUC is not there yet.
Against another server: --prosody starts a private Prosody (Debian's
prosody, mod_muc as a Component, accounts written as internal_plain files,
its own ports and data dir, stopped by its PID), or --external HOST:PORT
uses a running one whose users alice, bob and carol have --password.

    /usr/bin/python3 tests/e2e/test_muc_slixmpp.py --server build/djabberd-actors
    /usr/bin/python3 tests/e2e/test_muc_slixmpp.py --prosody

Exits 0 on success, 77 when skipped; otherwise prints the reason and
exits 1. Every step is bounded, the whole test by --limit (90 s).
"""

import argparse
import asyncio
import contextlib
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
from cluster_lib import TestFailure, run  # noqa: E402  (the asyncio runner)
from scn_server import free_port  # noqa: E402

try:
    import slixmpp
    from slixmpp.exceptions import IqError, PresenceError
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

NAME = "test_muc_slixmpp"
STEP = 10
SKIP = 77
MUC_NS = "http://jabber.org/protocol/muc"


class Skip(Exception):
    pass


class Client(slixmpp.ClientXMPP):
    """Records what arrives from the room: groupchat bodies (with whether
    they carry a <delay/>), subjects, private messages and presences."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0203")
        self.ready = asyncio.get_event_loop().create_future()
        self.lines = []      # (nick, body, delayed)
        self.subjects = []
        self.private = []    # (from, body)
        self.presences = []  # (nick, type, status codes, item nick)
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("groupchat_message", self._on_groupchat)
        self.add_event_handler("groupchat_subject", self._on_subject)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("groupchat_presence", self._on_presence)

    async def _on_start(self, _event):
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_groupchat(self, m):
        delayed = m.get_plugin("delay", check=True) is not None
        self.lines.append((m["from"].resource, m["body"], delayed))
        self.changed.set()

    def _on_subject(self, m):
        self.subjects.append(m["subject"])
        self.changed.set()

    def _on_message(self, m):
        if m["type"] in ("chat", "normal") and m["body"]:
            self.private.append((m["from"].full, m["body"]))
            self.changed.set()

    def _on_presence(self, p):
        self.presences.append((p["from"].resource, p["type"], set(p["muc"]["status_codes"]),
                               p["muc"]["item"]["nick"]))
        self.changed.set()

    def bodies(self, live_only=True):
        return [b for (_n, b, d) in self.lines if not (live_only and d)]

    async def until(self, pred, what, timeout=STEP):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %s not seen within %ds (lines %s, presences %s)"
                                  % (self.boundjid.bare, what, timeout, self.lines,
                                     self.presences[-6:]))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


async def login(host, port, jid, password):
    c = Client(jid, password)
    c.connect(address=(host, port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(c.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return c


async def has_muc(host, port, domain, password):
    """True if disco#info of conference.DOMAIN names a conference service."""
    c = await login(host, port, "alice@%s/probe" % domain, password)
    try:
        info = await c["xep_0030"].get_info(jid="conference.%s" % domain, timeout=STEP)
        ids = info["disco_info"]["identities"]
        return any(cat == "conference" for (cat, _type, _lang, _name) in ids)
    except (IqError, asyncio.TimeoutError, slixmpp.exceptions.IqTimeout):
        return False
    finally:
        await close(c)


async def close(c):
    try:
        fut = c.disconnect(wait=1.0)
        if fut is not None:
            await asyncio.wait_for(fut, 5)
    except Exception:  # noqa: BLE001 - best-effort cleanup
        pass


async def join(c, room, nick, **history):
    try:
        # slixmpp 1.8.3's join_muc_wait prints each history <delay/>
        with contextlib.redirect_stdout(io.StringIO()):
            pres, _subject, _occ, hist = await c["xep_0045"].join_muc_wait(
                room, nick, timeout=STEP, **history)
    except PresenceError as e:
        raise TestFailure("%s could not join %s: %s" % (nick, room, e.presence))
    except asyncio.TimeoutError:
        raise TestFailure("%s: no self-presence (and subject) from %s within %ds"
                          % (nick, room, STEP))
    return pres, hist


async def scenario(host, port, domain, password):
    room = "e2e-%s@conference.%s" % (uuid.uuid4().hex[:8], domain)
    clients = []
    try:
        alice = await login(host, port, "alice@%s/muc" % domain, password)
        bob = await login(host, port, "bob@%s/muc" % domain, password)
        carol = await login(host, port, "carol@%s/muc" % domain, password)
        clients += [alice, bob, carol]
        everyone = (alice, bob, carol)

        # §10.1: a new room; the owner accepts the default configuration
        pres, _ = await join(alice, room, "Alice", maxstanzas=0)
        codes = set(pres["muc"]["status_codes"])
        if 201 in codes:
            iq = alice.make_iq_set(ito=room)
            iq.append(ET.fromstring(
                "<query xmlns='%s#owner'><x xmlns='jabber:x:data' type='submit'/></query>"
                % MUC_NS))
            await iq.send(timeout=STEP)
            print("alice created %s (201) and accepted the default configuration" % room)
        if pres["muc"]["affiliation"] != "owner":
            raise TestFailure("the room's creator is %r, not owner" % pres["muc"]["affiliation"])
        await join(bob, room, "Bob", maxstanzas=0)
        await alice.until(lambda: any(n == "Bob" for (n, *_r) in alice.presences), "Bob's presence")

        # §7.2.15: history for the next one who joins
        for body in ("history one", "history two"):
            alice.send_message(mto=room, mbody=body, mtype="groupchat")
        for c in (alice, bob):
            await c.until(lambda c=c: "history two" in c.bodies(), "the two lines")
        _, hist = await join(carol, room, "Carol", maxstanzas=10)
        await carol.until(lambda: len([1 for (_n, b, d) in carol.lines if d]) >= 2,
                          "two history lines with <delay/>")
        got = [b for (_n, b, d) in carol.lines if d]
        if got[-2:] != ["history one", "history two"]:
            raise TestFailure("carol's history: %s" % carol.lines)
        others = {n for (n, t, *_r) in carol.presences if t != "unavailable"}
        if not {"Alice", "Bob", "Carol"} <= others:
            raise TestFailure("carol saw the occupants %s, not Alice, Bob and Carol" % others)
        print("carol joined with history: %s" % got[-2:])

        # §7.4: every message to every occupant
        for c, nick in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
            c.send_message(mto=room, mbody="hello from %s" % nick, mtype="groupchat")
        want = {"hello from Alice", "hello from Bob", "hello from Carol"}
        for c in everyone:
            await c.until(lambda c=c: want <= set(c.bodies()), "the three lines")
            got = [b for b in c.bodies() if b in want]
            if len(got) != 3:
                raise TestFailure("%s got %s (each line once expected)" % (c.boundjid.bare, got))
        print("three lines fanned out to three occupants")

        # §8.1: subject
        alice["xep_0045"].set_subject(room, "Plans for today")
        for c in everyone:
            await c.until(lambda c=c: "Plans for today" in c.subjects, "the new subject")
        print("subject seen by all three")

        # §7.6: nick change
        bob.send_presence(pto="%s/Robert" % room)
        await alice.until(lambda: any(n == "Bob" and t == "unavailable" and 303 in s and nn == "Robert"
                                      for (n, t, s, nn) in alice.presences), "Bob's 303 naming Robert")
        await alice.until(lambda: any(n == "Robert" and t != "unavailable"
                                      for (n, t, *_r) in alice.presences), "Robert's presence")
        await bob.until(lambda: any(n == "Robert" and 110 in s for (n, _t, s, _nn) in bob.presences),
                        "bob's own presence as Robert")
        print("bob is now Robert (303)")

        # §7.5: a private message through the room
        carol.send_message(mto="%s/Robert" % room, mbody="psst", mtype="chat")
        await bob.until(lambda: ("%s/Carol" % room, "psst") in bob.private,
                        "carol's private message from room/Carol")
        if any(b == "psst" for b in alice.bodies()) or ("%s/Carol" % room, "psst") in alice.private:
            raise TestFailure("alice saw carol's private message")
        print("private message delivered from %s/Carol" % room)

        # §8.2: kick
        try:
            await alice["xep_0045"].set_role(room, "Carol", "none", reason="test")
        except IqError as e:
            raise TestFailure("kick refused: %s" % e.iq)
        await carol.until(lambda: any(n == "Carol" and t == "unavailable" and {307, 110} <= s
                                      for (n, t, s, _nn) in carol.presences), "carol's 307 with 110")
        for c in (alice, bob):
            await c.until(lambda c=c: any(n == "Carol" and t == "unavailable" and 307 in s
                                          for (n, t, s, _nn) in c.presences), "Carol's 307")
        print("carol kicked (307)")
    finally:
        for c in clients:
            await close(c)


# ---- servers -------------------------------------------------------------------

DJA_CONFIG = """
[server]
log_level = "debug"
data_dir  = "@DATA_DIR@"

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { alice = "pw", bob = "pw", carol = "pw" }
  [[vhost.plugin]]
  type = "disco"
"""


def dja_server(binary, plugin, tmp):
    """Starts djabberd-actors with the MUC plugin if the build knows it."""
    # The MUC service is a service domain of its own (docs/muc.md).
    with_muc = DJA_CONFIG + ('\n[[vhost]]\ndomain = "conference.localhost"\n'
                             '  [[vhost.plugin]]\n  type = "%s"\n' % plugin)
    path = os.path.join(tmp, "muc.toml")
    probe = with_muc.replace("@DATA_DIR@", tmp).replace("@PORT@", "1")
    with open(path, "w") as f:
        f.write(probe)
    r = subprocess.run([binary, "--config", path, "--check-config"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    text = with_muc
    if r.returncode != 0:
        out = r.stdout.decode(errors="replace")
        if "known plugin type" not in out:
            raise TestFailure("--check-config refused the MUC config: %s" % out[-400:])
        print("this build has no plugin %s: starting without it" % plugin)
        text = DJA_CONFIG
    with open(path, "w") as f:
        f.write(text)
    server = sr.Server(binary, path)
    server.with_muc = text is with_muc
    server.start()
    return server


class Prosody:
    """A private Prosody (Debian package) with mod_muc on conference.DOMAIN:
    its own config, data dir and port, run as user prosody, stopped by PID."""

    def __init__(self, tmp, domain, password):
        self.dir = os.path.join(tmp, "prosody")
        self.port = free_port()
        self.log = os.path.join(self.dir, "prosody.log")
        acc = os.path.join(self.dir, "data", domain.replace(".", "%2e"), "accounts")
        os.makedirs(acc)
        for u in ("alice", "bob", "carol"):
            with open(os.path.join(acc, u + ".dat"), "w") as f:
                f.write('return {\n\t["password"] = "%s";\n};\n' % password)
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        with open(self.cfg, "w") as f:
            f.write("""pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ info = "{log}" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
admin_interfaces = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_direct_tls_ports = {{ }}
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; }}
modules_disabled = {{ "s2s"; }}
VirtualHost "{domain}"
Component "conference.{domain}" "muc"
""".format(d=self.dir, log=self.log, port=self.port, domain=domain))
        os.chmod(tmp, 0o755)
        subprocess.run(["chown", "-R", "prosody:prosody", self.dir], check=True, timeout=30)
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups", "--",
             "prosody", "--config", self.cfg, "-F"],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise TestFailure("prosody exited during start:\n%s" % self.log_tail())
            try:
                import socket
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TestFailure("prosody did not start:\n%s" % self.log_tail())
                time.sleep(0.1)

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="djabberd-actors binary to start")
    where.add_argument("--prosody", action="store_true", help="start a private Prosody instead")
    where.add_argument("--external", metavar="HOST:PORT", help="a running server (loopback)")
    ap.add_argument("--muc-plugin", default="muc.sqlite", help="djabberd-actors MUC plugin type")
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--password", default="pw")
    ap.add_argument("--limit", type=int, default=90, help="hard time limit in seconds (default 90)")
    ap.add_argument("-v", "--verbose", action="store_true", help="slixmpp debug log")
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    server = prosody = None
    tmp = tempfile.mkdtemp(prefix="dja-muc-e2e-")
    try:
        if args.server:
            binary = os.path.abspath(args.server)
            if not os.access(binary, os.X_OK):
                raise TestFailure("server binary not found: %s" % binary)
            server = dja_server(binary, args.muc_plugin, tmp)
            host, port = "127.0.0.1", server.port
            print("djabberd-actors on 127.0.0.1:%d (log %s)" % (port, server.log_path))
        elif args.prosody:
            prosody = Prosody(tmp, args.domain, args.password)
            host, port = "127.0.0.1", prosody.port
            print("private Prosody on 127.0.0.1:%d (%s)" % (port, prosody.dir))
        else:
            host, _, p = args.external.rpartition(":")
            host, port = host or "127.0.0.1", int(p)
        if not run(has_muc(host, port, args.domain, args.password), 20):
            if server is not None and server.with_muc:
                raise TestFailure("%s is loaded but conference.%s has no "
                                  "conference identity" % (args.muc_plugin,
                                                           args.domain))
            raise Skip("the server answers disco#info for conference.%s without a "
                       "conference identity: no MUC service (XEP-0045) yet" % args.domain)
        run(scenario(host, port, args.domain, args.password), 60)
        if server is not None:
            if server.proc.poll() is not None:
                raise TestFailure("the server exited during the test (status %s)"
                                  % server.proc.returncode)
            problem = server.stop()
            if problem:
                raise TestFailure(problem)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except Skip as e:
        print("SKIP %s: %s" % (NAME, e))
        return SKIP
    except (TestFailure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        if prosody is not None:
            print("--- last lines of Prosody's log ---")
            print(prosody.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()
        if prosody is not None:
            prosody.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
