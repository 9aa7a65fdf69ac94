#!/usr/bin/python3
"""End-to-end test: a MUC room on a three-node cluster over one PostgreSQL.

Starts a private PostgreSQL (tests/e2e/pg_helper.py) and three nodes on
loopback (private CA, mutual TLS) serving localhost and
conference.localhost with muc.pgsql (persistent rooms, one dsn), the set-up
docs/cluster.md "Group chat" describes. A room runs on one node, its home:
the node that already runs it (claimed in the session directory), else the
rendezvous hash of the room over the nodes alive (computed here the same
way, home_of(), to pick a room whose home is n1). Then:

1. alice on n2 and bob on n3 join the room (it is created on n1, where
   neither is): each sees the other's presence; a subject set by alice
   and two messages, one each way, arrive exactly once at both;
2. n1 is killed (SIGKILL): alice and bob each get the unavailable
   self-presence with status 110 and 332 from their own node within 5 s;
3. both join again: the room comes back on the home over {n2, n3} from
   the shared store (the subject alice set is there, persistent), and a
   message each way arrives exactly once;
4. n1 is restarted and rejoins the cluster; carol joins from n1: she sees
   alice and bob (the room stayed where it runs, no second copy), and
   her message reaches both.

    /usr/bin/python3 tests/e2e/test_cluster_muc.py --server build/djabberd-actors

Exits 0 on success, 77 (skipped) only when the PostgreSQL binaries are
missing, 1 otherwise.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402
import pg_helper  # noqa: E402

NAME = "test_cluster_muc"
STEP = 10
MUC = "conference.localhost"
NS_USER = "http://jabber.org/protocol/muc#user"

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
  type  = "auth.static"
  users = {{ alice = "pw", bob = "pw", carol = "pw" }}

[[vhost]]
domain = "conference.localhost"
  [[vhost.plugin]]
  type = "muc.pgsql"
  dsn  = "{dsn}"
  persistent = true
  lock_new_rooms = false

[cluster]
node = "{name}"
listen = "127.0.0.1:{cluster_port}"
peers = [{peers}]
tls_cert = "{cert}"
tls_key = "{key}"
tls_ca = "{ca}"
"""


class MucNode(cl.Node):
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


def home_of(room, nodes):
    """plugins/muc/service.cpp home_of(): rendezvous hashing (FNV-1a of
    node, 0xff, room, then the splitmix64 finalizer; the highest wins)."""
    m = (1 << 64) - 1

    def score(node):
        h = 1469598103934665603
        for c in node.encode():
            h = ((h ^ c) * 1099511628211) & m
        h = ((h ^ 0xff) * 1099511628211) & m
        for c in room.encode():
            h = ((h ^ c) * 1099511628211) & m
        h ^= h >> 30
        h = (h * 0xbf58476d1ce4e5b9) & m
        h ^= h >> 27
        h = (h * 0x94d049bb133111eb) & m
        return h ^ (h >> 31)
    return max(sorted(nodes), key=score)


def statuses(e):
    x = e.find("{%s}x" % NS_USER)
    return set() if x is None else {s.get("code") for s in x.findall("{%s}status" % NS_USER)}


def presence_from(room, nick, ptype=None):
    full = "%s/%s" % (room, nick)
    return lambda e: (cl.tag(e) == "presence" and e.get("from") == full
                      and (e.get("type") or "") == (ptype or ""))


async def join(c, room, nick, others=()):
    c.send("<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/muc'>"
           "<history maxstanzas='0'/></x></presence>" % (room, nick))
    p = await c.wait_for(presence_from(room, nick), STEP, "self-presence in " + room)
    if "110" not in statuses(p):
        raise cl.TestFailure("%s: self-presence without 110: %s" % (c.jid, cl.ET.tostring(p)))
    for o in others:
        await c.wait_for(presence_from(room, o), STEP, "presence of %s in the room" % o)
    return p


async def converse(room, sender, nick, body, readers):
    """`sender` says `body`; every reader (and the sender) gets it once."""
    sender.send("<message to='%s' type='groupchat' id='%s'><body>%s</body></message>"
                % (room, sender.next_id(), body))
    for r in readers + [sender]:
        m = await r.wait_for(cl.is_msg(body, "%s/%s" % (room, nick), "groupchat"), STEP,
                             "groupchat %r" % body)
        if m.find("{urn:xmpp:sid:0}stanza-id") is None:
            raise cl.TestFailure("groupchat without stanza-id: %s" % cl.ET.tostring(m))
    await cl.asyncio.sleep(0.3)
    for r in readers + [sender]:
        if r.find(cl.is_msg(body)):
            raise cl.TestFailure("%s got %r twice" % (r.jid, body))


async def scenario(n1, n2, n3, pg, work, ca):
    nodes = ["n1", "n2", "n3"]
    room_local = next("r%d" % i for i in range(1000)
                      if home_of("r%d" % i, nodes) == "n1")
    room = "%s@%s" % (room_local, MUC)
    after = home_of(room_local, ["n2", "n3"])
    print("room %s: home n1 of {n1,n2,n3}, %s of {n2,n3}" % (room, after))

    # 1. Occupants on n2 and n3 converse in a room that runs on n1.
    alice = await cl.Client("alice", "a2", n2.c2s_port).connect()
    bob = await cl.Client("bob", "b3", n3.c2s_port).connect()
    for c in (alice, bob):
        c.presence(0)
    p = await join(alice, room, "Alice")
    if "201" not in statuses(p):
        raise cl.TestFailure("the room was not new (no 201): %s" % cl.ET.tostring(p))
    await join(bob, room, "Bob", others=["Alice"])
    await alice.wait_for(presence_from(room, "Bob"), STEP, "Bob's presence at alice")
    alice.send("<message to='%s' type='groupchat' id='subj'><subject>before the crash</subject>"
               "</message>" % room)
    for c in (alice, bob):
        await c.wait_for(lambda e: cl.tag(e) == "message"
                         and e.find("{jabber:client}subject") is not None, STEP, "subject")
    await converse(room, alice, "Alice", "hello from n2", [bob])
    await converse(room, bob, "Bob", "hello from n3", [alice])
    cl.wait_until(lambda: pg.psql("SELECT count(*) FROM muc_rooms WHERE username = '%s' "
                                  "AND key = 'room'" % room_local, "xmpp") == "1",
                  STEP, "the persistent room in the shared store")
    print("alice (n2) and bob (n3) in %s on n1: presences, subject, a message each way "
          "once: OK" % room)

    # 2. The home node dies: each occupant is told by its own node.
    t0 = time.monotonic()
    n1.kill()
    for c in (alice, bob):
        p = await c.wait_for(presence_from(room, "Alice" if c is alice else "Bob", "unavailable"),
                             5, "332 after the home node died")
        if not {"110", "332"} <= statuses(p):
            raise cl.TestFailure("%s: unavailable without 110+332: %s"
                                 % (c.jid, cl.ET.tostring(p)))
    print("n1 killed: alice and bob got unavailable with 110 and 332 within %.2f s: OK"
          % (time.monotonic() - t0))

    # 3. Both join again: the room answers from the node alive, from the store.
    # (Joined while the two survivors' link flaps — CAF 0.17, docs/cluster.md
    # "Limits" — each would wake the room on its own side; the newer claim
    # wins when the link heals and the other side's occupants get 332 again.
    # The test waits for a settled cluster, as a client's rejoin usually does.)
    await cl.asyncio.sleep(2)
    cl.wait_cluster([n2, n3], 20)
    t1 = time.monotonic()
    for c in (alice, bob):
        c.inbox.clear()
    p = await join(alice, room, "Alice")
    if "201" in statuses(p):
        raise cl.TestFailure("the room came back new (201): not from the store")
    s = await alice.wait_for(lambda e: cl.tag(e) == "message"
                             and e.find("{jabber:client}subject") is not None, STEP,
                             "subject on rejoin")
    if s.find("{jabber:client}subject").text != "before the crash":
        raise cl.TestFailure("subject after the move: %s" % cl.ET.tostring(s))
    await join(bob, room, "Bob", others=["Alice"])
    await converse(room, alice, "Alice", "after the crash, from n2", [bob])
    await converse(room, bob, "Bob", "after the crash, from n3", [alice])
    print("rejoined (after the cluster settled) in %.2f s: the room runs on %s with its stored subject; a message each "
          "way once: OK" % (time.monotonic() - t1, after))

    # 4. n1 comes back: the room stays where it runs.
    n1.start()
    cl.wait_cluster([n1, n2, n3], 30)
    carol = await cl.Client("carol", "c1", n1.c2s_port).connect()
    carol.presence(0)
    await join(carol, room, "Carol", others=["Alice", "Bob"])
    for c in (alice, bob):
        await c.wait_for(presence_from(room, "Carol"), STEP, "Carol's presence")
    await converse(room, carol, "Carol", "n1 is back", [alice, bob])
    print("n1 restarted: carol joins from n1 the same room (sees alice and bob), her "
          "message reaches both once: OK")
    for c in (alice, bob, carol):
        await c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=150)
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
    work = tempfile.mkdtemp(prefix="dja-cluster-muc-")
    nodes = []
    pg = None
    try:
        binary = os.path.abspath(args.server)
        pg = pg_helper.Postgres()
        pg.start()
        pg.createdb("xmpp")
        ca = cl.make_ca(work, "ca")
        for name in ("n1", "n2", "n3"):
            nodes.append(MucNode(binary, work, name, ca[0], cl.make_cert(work, ca, name),
                                 pg.dsn("xmpp")))
        for n in nodes:
            n.peers = [m.cluster_addr for m in nodes if m is not n]
        for n in nodes:
            n.start()
        cl.wait_cluster(nodes)
        print("postgres and three nodes up and linked (%.1f s)" % (time.monotonic() - t0))
        cl.run(scenario(*nodes, pg, work, ca),
               max(10, args.limit - int(time.monotonic() - t0) - 15))
        for n in nodes:
            if n.proc.poll() is not None:
                raise cl.TestFailure("node %s exited during the test" % n.name)
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
