#!/usr/bin/python3
"""End-to-end test: a three-node cluster on one shared PostgreSQL.

Starts a private PostgreSQL (tests/e2e/pg_helper.py) and three nodes on
loopback (private CA, mutual TLS, as test_cluster_routing.py) whose vhost
uses auth.pgsql, roster.pgsql, blocking.pgsql, offline.pgsql, vcard.pgsql
and private.pgsql with one dsn: the set-up an operator runs on three hosts
(docs/cluster.md). The nodes start together, so their migrations race on
one database (the advisory lock serializes them). Then:

1. accounts made with the admin CLI on n1's config (`user add`) are listed
   by n3's and log in on n2 and n3;
2. a roster change made by alice on n1 is pushed with one version to her
   resources on n1 and n3; a login on n3 asking with the old version gets
   the roster with the new one and the item, with the new one an empty
   result (RFC 6121 §2.6);
3. a message to carol (offline) sent by bob on n2 is stored once and
   delivered with a XEP-0203 delay stamp when carol logs in on n3;
4. a vCard alice sets on n1 is read by bob on n2 (XEP-0054);
5. a block made on n1 is in the list of a new session on n2 (XEP-0191);
6. every node stops cleanly on SIGTERM (exit status 0).

    /usr/bin/python3 tests/e2e/test_cluster_pgsql.py --server build/djabberd-actors

Exits 0 on success, 77 (skipped) only when the PostgreSQL binaries are
missing, 1 otherwise.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402
import pg_helper  # noqa: E402

NAME = "test_cluster_pgsql"
STEP = 10
NS_ROSTER = "jabber:iq:roster"

# What docs/cluster.md shows an operator, per node (ports, names and files
# filled in).
CONFIG = """[server]
log_level = "info"
data_dir  = "{data_dir}"
log_file  = "{log_file}"

[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = {c2s_port}
starttls = "off"

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type = "auth.pgsql"
  dsn  = "{dsn}"
  [[vhost.plugin]]
  type = "roster.pgsql"
  dsn  = "{dsn}"
  [[vhost.plugin]]
  type = "blocking.pgsql"
  dsn  = "{dsn}"
  [[vhost.plugin]]
  type = "offline.pgsql"
  dsn  = "{dsn}"
  [[vhost.plugin]]
  type = "vcard.pgsql"
  dsn  = "{dsn}"
  [[vhost.plugin]]
  type = "private.pgsql"
  dsn  = "{dsn}"

[cluster]
node = "{name}"
listen = "127.0.0.1:{cluster_port}"
peers = [{peers}]
tls_cert = "{cert}"
tls_key = "{key}"
tls_ca = "{ca}"
"""


class PgNode(cl.Node):
    """A cluster node whose storage is the shared database `dsn`."""

    def __init__(self, binary, workdir, name, ca_crt, cert, dsn):
        super().__init__(binary, workdir, name, [], ca_crt, cert, None)
        self.dsn = dsn

    def write_config(self):
        with open(self.config, "w") as f:
            f.write(CONFIG.format(
                data_dir=os.path.join(self.dir, "data"), log_file=self.log_path,
                c2s_port=self.c2s_port, dsn=self.dsn, name=self.name,
                cluster_port=self.cluster_port,
                peers=", ".join('"%s"' % p for p in self.peers), cert=self.cert,
                key=self.key, ca=self.ca))

    def admin(self, *args, password=None):
        p = subprocess.run([self.binary, "user", args[0], "--config", self.config] + list(args[1:]),
                           input=(password + "\n").encode() if password else b"",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")


def iq_id(i):
    return lambda e: cl.tag(e) == "iq" and e.get("id") == i


def is_roster_push(e):
    return (cl.tag(e) == "iq" and e.get("type") == "set"
            and e.find("{%s}query" % NS_ROSTER) is not None)


def roster_query(e):
    q = e.find("{%s}query" % NS_ROSTER)
    if q is None:
        raise cl.TestFailure("no roster query in %s" % cl.ET.tostring(e))
    return q, [i.get("jid") for i in q.findall("{%s}item" % NS_ROSTER)]


async def roster_get(c, ver):
    i = c.next_id()
    c.send("<iq type='get' id='%s'><query xmlns='%s' ver='%s'/></iq>" % (i, NS_ROSTER, ver))
    r = await c.wait_for(iq_id(i), STEP, "roster get")
    if r.get("type") != "result":
        raise cl.TestFailure("roster get: %s" % cl.ET.tostring(r))
    return r


async def scenario(n1, n2, n3, pg):
    # 2. Roster change on n1, pushed to n1 and n3, read on n3.
    a1 = await cl.Client("alice", "a1", n1.c2s_port).connect()
    a3 = await cl.Client("alice", "a3", n3.c2s_port).connect()
    q, _ = roster_query(await roster_get(a1, ""))
    v0 = q.get("ver")
    await roster_get(a3, "")
    a1.send("<iq type='set' id='s1'><query xmlns='%s'><item jid='bob@localhost' name='Bob'/></query></iq>"
            % NS_ROSTER)
    r = await a1.wait_for(iq_id("s1"), STEP, "roster set result")
    if r.get("type") != "result":
        raise cl.TestFailure("roster set: %s" % cl.ET.tostring(r))
    vers = []
    for c in (a1, a3):
        p = await c.wait_for(is_roster_push, STEP, "roster push")
        q, items = roster_query(p)
        if items != ["bob@localhost"]:
            raise cl.TestFailure("%s: push items %s" % (c.jid, items))
        vers.append(q.get("ver"))
        c.send("<iq type='result' id='%s'/>" % p.get("id"))
    if vers[0] != vers[1] or not vers[0] or vers[0] == v0:
        raise cl.TestFailure("push versions n1/n3: %s (before: %r)" % (vers, v0))
    v1 = vers[0]
    a3b = await cl.Client("alice", "a3b", n3.c2s_port).connect()
    q, items = roster_query(await roster_get(a3b, v0))
    if q.get("ver") != v1 or items != ["bob@localhost"]:
        raise cl.TestFailure("roster on n3 with the old version: ver %r items %s (push said %r)"
                             % (q.get("ver"), items, v1))
    r = await roster_get(a3b, v1)
    if len(r):
        raise cl.TestFailure("roster on n3 with the current version not empty: %s" % cl.ET.tostring(r))
    print("roster set on n1: push ver %s on n1 and n3; login on n3 reads it (old ver -> roster, "
          "current ver -> empty): OK" % v1)

    # 3. Offline message via n2, delivered on n3 with a delay stamp.
    bob = await cl.Client("bob", "b2", n2.c2s_port).connect()
    bob.presence(0)
    bob.message("carol@localhost", "while-away", "off1")
    cl.wait_until(lambda: pg.psql("SELECT count(*) FROM offline_messages", "xmpp") == "1",
                  STEP, "the message stored in offline_messages")
    carol = await cl.Client("carol", "c3", n3.c2s_port).connect()
    carol.presence(0)
    m = await carol.wait_for(cl.is_msg("while-away"), STEP, "offline message on n3")
    d = m.find("{urn:xmpp:delay}delay")
    if m.get("from") != bob.jid or d is None or not d.get("stamp") or d.get("from") != "localhost":
        raise cl.TestFailure("offline message: %s" % cl.ET.tostring(m))
    cl.wait_until(lambda: pg.psql("SELECT count(*) FROM offline_messages", "xmpp") == "0",
                  STEP, "offline_messages emptied after delivery")
    print("message to offline carol via n2: stored, delivered on n3 with delay stamp %s: OK"
          % d.get("stamp"))

    # 4. vCard set on n1, read on n2.
    a1.send("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice Cluster</FN></vCard></iq>")
    r = await a1.wait_for(iq_id("v1"), STEP, "vCard set")
    if r.get("type") != "result":
        raise cl.TestFailure("vCard set: %s" % cl.ET.tostring(r))
    bob.send("<iq to='alice@localhost' type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>")
    r = await bob.wait_for(iq_id("v2"), STEP, "vCard get")
    fn = r.find("{vcard-temp}vCard/{vcard-temp}FN")
    if r.get("type") != "result" or fn is None or fn.text != "Alice Cluster":
        raise cl.TestFailure("vCard get on n2: %s" % cl.ET.tostring(r))
    print("vCard set on n1, read by bob on n2: OK")

    # 5. Block list: a block on n1 is in a new session's list on n2.
    a1.send("<iq type='set' id='bl1'><block xmlns='urn:xmpp:blocking'>"
            "<item jid='mallory@localhost'/></block></iq>")
    r = await a1.wait_for(iq_id("bl1"), STEP, "block")
    if r.get("type") != "result":
        raise cl.TestFailure("block: %s" % cl.ET.tostring(r))
    a2 = await cl.Client("alice", "a2", n2.c2s_port).connect()
    a2.send("<iq type='get' id='bl2'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
    r = await a2.wait_for(iq_id("bl2"), STEP, "blocklist")
    items = [i.get("jid") for i in r.iter("{urn:xmpp:blocking}item")]
    if r.get("type") != "result" or items != ["mallory@localhost"]:
        raise cl.TestFailure("blocklist on n2: %s" % cl.ET.tostring(r))
    print("block on n1, block list on n2: OK")
    for c in (a1, a3, a3b, a2, bob, carol):
        await c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=90)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if pg_helper.find_binaries() is None:
        print("SKIP %s: PostgreSQL binaries not found (apt-get install postgresql)" % NAME)
        return pg_helper.SKIP

    def on_alarm(_s, _f):
        raise cl.TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="dja-cluster-pg-")
    nodes = []
    pg = None
    try:
        binary = os.path.abspath(args.server)
        pg = pg_helper.Postgres()
        pg.start()
        pg.createdb("xmpp")
        ca = cl.make_ca(work, "ca")
        for name in ("n1", "n2", "n3"):
            nodes.append(PgNode(binary, work, name, ca[0], cl.make_cert(work, ca, name), pg.dsn("xmpp")))
        for n in nodes:
            n.peers = [m.cluster_addr for m in nodes if m is not n]
        for n in reversed(nodes):
            n.start()
        cl.wait_cluster(nodes)
        print("postgres and three nodes up and linked (%.1f s)" % (time.monotonic() - t0))

        # 1. Accounts by the admin CLI on n1's config, seen from n3's.
        for u in ("alice", "bob", "carol"):
            rc, out = nodes[0].admin("add", "%s@localhost" % u, password="pw")
            if rc != 0:
                raise cl.TestFailure("user add %s on n1 failed (%d): %s" % (u, rc, out))
        rc, out = nodes[2].admin("list", "localhost")
        if rc != 0 or [x for x in ("alice", "bob", "carol") if x not in out]:
            raise cl.TestFailure("user list on n3 (%d): %s" % (rc, out))
        print("accounts added with `user add` on n1, listed on n3: OK")

        cl.run(scenario(*nodes, pg), max(10, args.limit - int(time.monotonic() - t0) - 15))
        for n in nodes:
            if n.proc.poll() is not None:
                raise cl.TestFailure("node %s exited during the test" % n.name)
        for n in nodes:
            n.kill(signal.SIGTERM)
            if n.proc.returncode != 0:
                raise cl.TestFailure("node %s exited with %s on SIGTERM" % (n.name, n.proc.returncode))
        print("three nodes stopped cleanly (%.1f s in all)" % (time.monotonic() - t0))
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (cl.TestFailure, pg_helper.PgError, Exception) as e:  # noqa: BLE001
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        for n in nodes:
            print("--- %s log ---\n%s" % (n.name, n.log_tail(25)))
        if pg is not None:
            print("--- postgres log ---\n%s" % pg.log_tail())
        return 1
    finally:
        for n in nodes:
            n.kill(signal.SIGTERM)
        if pg is not None:
            pg.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
