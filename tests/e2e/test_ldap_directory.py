#!/usr/bin/python3
"""End-to-end test of the `ldap` plugin (plugins/ldap/): a directory as
the user base, against a PRIVATE OpenLDAP slapd (slapd_helper.py: its own
config, data directory and loopback ports; the system's slapd is never
used), loaded with examples/existing-site/directory.ldif (users, one with
a jpegPhoto, a groupOfNames and a posixGroup, a service account).

djabberd-actors runs one vhost per way of using it:
  * example.org: examples/existing-site/ldap.toml as it is (StartTLS with
    tls_ca_file = the test's certificate, search-then-bind as the service
    account, groupOfNames groups with member DNs, a vcard_map, the cache
    on), only query_timeout_ms shortened;
  * direct.test: ldaps://, direct bind by bind_dn_template, anonymous
    searches, posixGroup groups (memberUid), an explicit vcard_map;
  * untrusted.test (StartTLS, no tls_ca_file: the system's CAs do not
    sign it) and down.test (nothing listens) -> <temporary-auth-failure/>;
  * static.test: auth.static, for "other vhosts unaffected".
Then:
  * SASL PLAIN: the directory password logs in; a wrong one, an unknown
    user, an empty password and filter / DN injections (`*)(uid=*`, `*`,
    `al*`, `alice)(uid=alice`, `alice,ou=people`: unescaped, some would
    find alice and log in with her password) are <not-authorized/>;
  * slixmpp: alice's roster holds her group's members with subscription
    both (both group kinds), her vCard has FN, EMAIL and the PHOTO with
    TYPE image/jpeg and the photo's bytes, and bob's client gets her
    presence with the photo's XEP-0153 hash;
  * slapd stopped -> <temporary-auth-failure/> (never not-authorized);
    started again -> the login works; frozen (SIGSTOP: connections are
    accepted, nothing answers) -> <temporary-auth-failure/> within the
    bounds, while static.test logs in meanwhile; thawed -> login works;
  * `djabberd-actors user list example.org` lists the directory's users,
    `user add` is refused (the directory is read-only);
  * dave added to alice's group with ldapmodify, then `djabberd-actors
    ctl invalidate alice@example.org`: the roster push reaches her client.

    /usr/bin/python3 tests/e2e/test_ldap_directory.py --server build/djabberd-actors

Exits 0 on success, 77 when slapd is not installed, 1 otherwise. Every
wait is bounded; the whole test has a hard limit (--limit, 180 s).
"""

import argparse
import asyncio
import base64
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LDIF = os.path.join(REPO, "examples", "existing-site", "directory.ldif")
EXAMPLE = os.path.join(REPO, "examples", "existing-site", "ldap.toml")
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import cluster_lib as cl  # noqa: E402  (TestFailure, run)
import scn_server as ss  # noqa: E402  (Server: free port + temp config)
import slapd_helper as sh  # noqa: E402
from test_http_userbase import sasl_plain  # noqa: E402
import test_sql_existing_site as sqlt  # noqa: E402  (Bot, login)
from test_sql_existing_site import login, photo_hash_of  # noqa: E402

NAME = "test_ldap_directory"
BACK_WITHIN = 20  # seconds for a login to work again after slapd is back
PEOPLE = "ou=people,dc=example,dc=org"
TestFailure = cl.TestFailure


def config(d, dead_port):
    """examples/existing-site/ldap.toml (example.org) and the test's own
    vhosts."""
    with open(EXAMPLE) as f:
        text = f.read()
    text = text.replace("@LDAP_URI@", d.ldap_uri).replace("@LDAP_CA@", d.cert)
    # The injection attempts are failures on purpose: no brute-force
    # delays; and a short bound for the frozen directory.
    text = text.replace('data_dir  = "@DATA_DIR@"',
                        'data_dir  = "@DATA_DIR@"\nauth_fail_limit = 1000', 1)
    text = text.replace('negative_ttl = 5',
                        'negative_ttl = 5\n  query_timeout_ms = 1500', 1)
    if "@LDAP" in text or "query_timeout_ms" not in text or "auth_fail_limit" not in text:
        raise TestFailure("%s changed: the test's edits do not apply" % EXAMPLE)
    return text + """
[[vhost]]
domain = "direct.test"
  [[vhost.plugin]]
  type = "ldap"
  ldap_uri = "{ldaps}"
  tls_ca_file = "{ca}"
  bind_dn_template = "uid=$user,{people}"
  group_base = "ou=groups,dc=example,dc=org"
  group_filter = "(objectClass=posixGroup)"
  member_attribute = "memberUid"
  vcard_map = {{ FN = "cn", NICKNAME = "uid", EMAIL = "mail", PHOTO = "jpegPhoto" }}
  query_timeout_ms = 1500

[[vhost]]
domain = "untrusted.test"
  [[vhost.plugin]]
  type = "ldap"
  ldap_uri = "{ldap}"
  bind_dn_template = "uid=$user,{people}"
  vcard = false

[[vhost]]
domain = "down.test"
  [[vhost.plugin]]
  type = "ldap"
  ldap_uri = "ldap://127.0.0.1:{dead}"
  base = "{people}"
  vcard = false

[[vhost]]
domain = "static.test"
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ carol = "static-pw" }}
""".format(ldaps=d.ldaps_uri, ldap=d.ldap_uri, ca=d.cert, people=PEOPLE, dead=dead_port)


def expect_login(port, domain, user, pw, want):
    got = sasl_plain(port, domain, user, pw)
    if got != want:
        raise TestFailure("%r@%s: SASL %s, expected %s" % (user, domain, got, want))
    print("  %r@%s: %s" % (user, domain, got))


def logins(port):
    for domain in ("example.org", "direct.test"):
        expect_login(port, domain, "alice", "wonder-pw", "success")
        expect_login(port, domain, "alice", "wrong", "not-authorized")
        expect_login(port, domain, "nobody", "wonder-pw", "not-authorized")
        # RFC 4515 / RFC 4514: these stay literal user names. Unescaped,
        # "al*" and "alice)(uid=alice" would find alice alone and log in
        # with her password.
        for user in ("*)(uid=*", "*", "al*", "alice)(uid=alice", "alice)(|(uid=*",
                     "alice,ou=people", "alice\\2a"):
            expect_login(port, domain, user, "wonder-pw", "not-authorized")
    # An empty password would be an unauthenticated bind (RFC 4513
    # §5.1.2), which a directory accepts: never sent.
    try:
        got = sasl_plain(port, "direct.test", "alice", "")
    except TestFailure:
        got = "refused"
    if got == "success":
        raise TestFailure("alice@direct.test with an empty password: success")
    print("  alice@direct.test with an empty password: %s" % got)
    expect_login(port, "untrusted.test", "alice", "wonder-pw", "temporary-auth-failure")
    expect_login(port, "down.test", "alice", "wonder-pw", "temporary-auth-failure")


def photo():
    with open(LDIF) as f:
        text = f.read()
    # The LDIF's jpegPhoto:: line (base64, one line).
    for line in text.splitlines():
        if line.startswith("jpegPhoto:: "):
            return base64.b64decode(line.split(" ", 1)[1])
    raise TestFailure("no jpegPhoto in %s" % LDIF)


async def client_checks(port):
    bots = []
    try:
        alice = await login(port, "alice@example.org/dir", "wonder-pw")
        bots.append(alice)
        roster = alice.client_roster
        contacts = sorted(j for j in roster.keys() if j != "alice@example.org")
        if contacts != ["bob@example.org", "carol@example.org"]:
            raise TestFailure("alice's roster (group team): %s" % contacts)
        for j in contacts:
            if roster[j]["subscription"] != "both" or list(roster[j]["groups"]) != ["team"]:
                raise TestFailure("roster item %s: subscription %r, groups %r"
                                  % (j, roster[j]["subscription"], roster[j]["groups"]))
        print("  alice@example.org: roster from groupOfNames team, subscription both: %s"
              % contacts)

        iq = await alice["xep_0054"].get_vcard("alice@example.org", cached=False,
                                               timeout=sh.STEP)
        vc = iq["vcard_temp"]
        want = photo()
        if vc["FN"] != "Alice Liddell" or vc["PHOTO"]["TYPE"] != "image/jpeg" \
                or vc["PHOTO"]["BINVAL"] != want:
            raise TestFailure("alice's vCard: FN %r, PHOTO TYPE %r, %d bytes of BINVAL"
                              % (vc["FN"], vc["PHOTO"]["TYPE"], len(vc["PHOTO"]["BINVAL"] or b"")))
        email = iq.xml.find(".//{vcard-temp}EMAIL/{vcard-temp}USERID")
        if email is None or email.text != "alice@example.org":
            raise TestFailure("alice's vCard EMAIL/USERID: %r" % email)
        print("  alice's vCard from her entry: FN, EMAIL, PHOTO image/jpeg (%d bytes)"
              % len(want))

        bob = await login(port, "bob@example.org/dir", "builder-pw")
        bots.append(bob)
        alice.send_presence()
        got = await photo_hash_of(bob, "alice@example.org")
        if got != hashlib.sha1(want).hexdigest():
            raise TestFailure("alice's presence to bob: photo hash %r, expected %s"
                              % (got, hashlib.sha1(want).hexdigest()))
        print("  alice's presence reaches bob with the XEP-0153 hash of her jpegPhoto")

        direct = await login(port, "alice@direct.test/dir", "wonder-pw")
        bots.append(direct)
        contacts = sorted(j for j in direct.client_roster.keys() if j != "alice@direct.test")
        if contacts != ["dave@direct.test"] \
                or direct.client_roster["dave@direct.test"]["subscription"] != "both":
            raise TestFailure("alice@direct.test's roster (posixGroup ops): %s" % contacts)
        print("  alice@direct.test: roster from posixGroup memberUid: %s" % contacts)
    finally:
        for b in bots:
            try:
                fut = b.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001
                pass


async def invalidate_push(port, d, server):
    """A member added to her group in the directory, then `djabberd-actors
    ctl invalidate`: the roster push reaches her online client (the
    directory is cached, cache_ttl of ldap.toml)."""
    alice = await login(port, "alice@example.org/inv", "wonder-pw")
    try:
        if "dave@example.org" in alice.client_roster.keys():
            raise TestFailure("dave is in alice's roster before the change")
        change = ("dn: cn=team,ou=groups,dc=example,dc=org\nchangetype: modify\n"
                  "add: member\nmember: uid=dave,%s\n" % PEOPLE)
        loop = asyncio.get_event_loop()
        r = await loop.run_in_executor(None, lambda: subprocess.run(
            ["ldapmodify", "-x", "-H", d.ldap_uri, "-D", sh.ROOT_DN, "-w", sh.ROOT_PW],
            input=change, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=sh.STEP))
        if r.returncode != 0:
            raise TestFailure("ldapmodify: %s" % r.stdout[-300:])
        cfg = os.path.join(server.tmp, "server.toml")
        p = await loop.run_in_executor(None, lambda: subprocess.run(
            [server.binary, "ctl", "--config", cfg, "invalidate", "alice@example.org"],
            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=sh.STEP))
        if p.returncode != 0:
            raise TestFailure("ctl invalidate alice@example.org: %s" % p.stdout[-300:])
        def has_dave():  # (indexing client_roster would create the item)
            r = alice.client_roster
            return "dave@example.org" in r.keys() \
                and r["dave@example.org"]["subscription"] == "both"
        t0 = time.monotonic()
        while not has_dave():
            if time.monotonic() - t0 > sh.STEP:
                raise TestFailure("no roster push of dave within %ds of ctl invalidate"
                                  % sh.STEP)
            await asyncio.sleep(0.1)
        print("  dave added to group team + ctl invalidate -> roster push to alice's "
              "online client (%.2f s)" % (time.monotonic() - t0))
    finally:
        try:
            fut = alice.disconnect(wait=1.0)
            if fut is not None:
                await asyncio.wait_for(fut, 5)
        except Exception:  # noqa: BLE001
            pass


def admin(server):
    """`user list` reads the directory; `user add` is refused (read-only)."""
    cfg = os.path.join(server.tmp, "server.toml")

    def run(args, stdin=""):
        p = subprocess.run([server.binary, "user"] + args[:1] + ["--config", cfg] + args[1:],
                           input=stdin, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=sh.STEP)
        return p.returncode, p.stdout
    rc, out = run(["list", "example.org"])
    names = sorted(out.split())
    if rc != 0 or names != ["%s@example.org" % u for u in ("alice", "bob", "carol", "dave")]:
        raise TestFailure("user list example.org: %d %s" % (rc, out[-500:]))
    rc, out = run(["add", "eve@example.org"], "eve-pw\n")
    if rc == 0:
        raise TestFailure("user add on the read-only directory succeeded: %s" % out[-300:])
    print("  user list from the directory: %s; user add refused (read-only)" % names)


def until_login(port, domain, what):
    t0 = time.monotonic()
    while sasl_plain(port, domain, "alice", "wonder-pw") != "success":
        if time.monotonic() - t0 > BACK_WITHIN:
            raise TestFailure("%s: no login within %ds after slapd %s"
                              % (domain, BACK_WITHIN, what))
        time.sleep(0.25)
    print("  slapd %s: alice@%s logs in after %.1f s" % (what, domain, time.monotonic() - t0))


def outage(port, d):
    d.stop()
    for domain in ("example.org", "direct.test"):
        expect_login(port, domain, "alice", "wonder-pw", "temporary-auth-failure")
    d.start_again()
    until_login(port, "example.org", "started again")
    until_login(port, "direct.test", "started again")
    d.freeze()
    try:
        # Two held logins (one per worker) and, meanwhile, another vhost.
        results = []
        held = [threading.Thread(target=lambda: results.append(
            sasl_plain(port, "example.org", "alice", "wonder-pw"))) for _ in range(2)]
        t0 = time.monotonic()
        for t in held:
            t.start()
        expect_login(port, "static.test", "carol", "static-pw", "success")
        for t in held:
            t.join(sh.STEP)
        if results != ["temporary-auth-failure"] * 2:
            raise TestFailure("logins while slapd is frozen: %s" % results)
        print("  slapd frozen: <temporary-auth-failure/> after %.1f s"
              % (time.monotonic() - t0))
        # ldaps://: the TLS handshake hangs too, bounded the same way.
        t0 = time.monotonic()
        expect_login(port, "direct.test", "alice", "wonder-pw", "temporary-auth-failure")
        print("  slapd frozen, ldaps://: <temporary-auth-failure/> after %.1f s"
              % (time.monotonic() - t0))
    finally:
        d.thaw()
    until_login(port, "example.org", "thawed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=180)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if sh.find_binaries() is None:
        print("SKIP %s: slapd is not installed (tools/setup.sh --test)" % NAME)
        return sh.SKIP

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    d = server = tmpl = None
    try:
        d = sh.Slapd()
        with open(LDIF) as f:
            d.start(f.read())
        tmpl = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        tmpl.write(config(d, ss.free_port()))
        tmpl.close()
        server = ss.Server(os.path.abspath(args.server), tmpl.name)
        server.start()
        logins(server.port)
        cl.run(client_checks(server.port), 60)
        admin(server)
        cl.run(invalidate_push(server.port, d, server), 60)
        outage(server.port, d)
        log = server.log_tail(100000)
        if "ldap: vhost example.org: directory" not in log or "PLAIN only" not in log:
            raise TestFailure("no start-up line saying PLAIN only")
        for secret in ("wonder-pw", "service-secret"):
            if secret in log:
                raise TestFailure("the server log shows a password (%r)" % secret)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, sqlt.TestFailure, ss.Failure, sh.SlapdError) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- server log (%s) ---" % server.log_path)
            print(server.log_tail(60))
        if d is not None:
            print("--- slapd log ---")
            print(d.log_tail(20))
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()
        if d is not None:
            d.cleanup()
        if tmpl is not None:
            os.unlink(tmpl.name)


if __name__ == "__main__":
    sys.exit(main())
