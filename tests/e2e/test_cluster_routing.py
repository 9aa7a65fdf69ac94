#!/usr/bin/python3
"""End-to-end test: cross-node routing in a three-node cluster on loopback.

Makes a private CA with the openssl CLI, starts nodes n1, n2, n3 (own c2s and
cluster ports; mutual TLS between nodes; the roster and offline SQLite files
shared, standing in for PostgreSQL), waits until every node sees the other
two (`djabberd-actors cluster status`), then:

1. alice on n1 and bob on n2 do a full subscription handshake both ways
   (RFC 6121 §3.1) and see each other's presence;
2. they exchange messages (to full and bare JIDs) and an iq round trip;
3. bob adds a higher-priority resource on n3: a message to bob's bare JID
   goes to that resource only (RFC 6121 §8.5.2.1.1); bob/hi logging out is
   seen by alice as unavailable presence;
4. carol logs in on n3 after alice is online: her probe is answered with
   alice's presence from n1;
5. a second login as alice's full JID on n3 replaces the session on n1
   (the old stream ends with <conflict/>), and the new one gets messages;
6. `cluster status` shows each node's session count.

    /usr/bin/python3 tests/e2e/test_cluster_routing.py --server build/djabberd-actors
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402

NAME = "test_cluster_routing"
STEP = 10


async def scenario(n1, n2, n3):
    alice = await cl.Client("alice", "desk", n1.c2s_port).connect()
    bob = await cl.Client("bob", "lo", n2.c2s_port).connect()
    alice.presence(0)
    bob.presence(1)
    await alice.wait_for(cl.is_presence(alice.jid), STEP, "own presence")
    await bob.wait_for(cl.is_presence(bob.jid), STEP, "own presence")

    # 1. Subscription handshake across nodes, both ways.
    await cl.subscribe_both(alice, bob, STEP)
    print("subscription handshake alice(n1) <-> bob(n2): OK")

    # 2. Messages (full and bare) and an iq round trip.
    alice.message(bob.jid, "to-full")
    await bob.wait_for(cl.is_msg("to-full", alice.jid), STEP, "message to full JID")
    bob.message(alice.bare, "to-bare")
    await alice.wait_for(cl.is_msg("to-bare", bob.jid), STEP, "message to bare JID")
    alice.send("<iq to='%s' type='get' id='q1'><query xmlns='urn:example:cluster'/></iq>" % bob.jid)
    iq = await bob.wait_for(lambda e: cl.tag(e) == "iq" and e.get("id") == "q1", STEP, "iq get")
    if iq.get("from") != alice.jid:
        raise cl.TestFailure("iq from %r" % iq.get("from"))
    bob.send("<iq to='%s' type='result' id='q1'/>" % alice.jid)
    await alice.wait_for(lambda e: cl.tag(e) == "iq" and e.get("id") == "q1"
                         and e.get("type") == "result", STEP, "iq result")
    # An iq to a resource nobody has: <service-unavailable/> from anywhere.
    alice.send("<iq to='bob@localhost/nobody' type='get' id='q2'><query xmlns='urn:example:cluster'/></iq>")
    err = await alice.wait_for(lambda e: e.get("id") == "q2", STEP, "iq error")
    if err.get("type") != "error":
        raise cl.TestFailure("iq to an unbound resource: %s" % cl.ET.tostring(err))
    print("messages and iq alice(n1) <-> bob(n2): OK")

    # 3. Priority across nodes.
    bob_hi = await cl.Client("bob", "hi", n3.c2s_port).connect()
    bob_hi.presence(5)
    await alice.wait_for(cl.is_presence(bob_hi.jid), STEP, "presence of bob/hi")
    await bob.wait_for(cl.is_presence(bob_hi.jid), STEP, "own other resource's presence")
    alice.message(bob.bare, "to-highest")
    await bob_hi.wait_for(cl.is_msg("to-highest"), STEP, "bare message to highest priority")
    await cl.asyncio.sleep(0.5)
    if bob.find(cl.is_msg("to-highest")):
        raise cl.TestFailure("bob/lo (priority 1) got the message meant for bob/hi (priority 5)")
    await bob_hi.close()
    await alice.wait_for(cl.is_presence(bob_hi.jid, "unavailable"), STEP, "bob/hi unavailable")
    alice.message(bob.bare, "back-to-lo")
    await bob.wait_for(cl.is_msg("back-to-lo"), STEP, "bare message after bob/hi left")
    print("bare JID delivery by priority across n2/n3, unavailable across nodes: OK")

    # 4. A probe answered from another node (carol subscribes to alice).
    carol = await cl.Client("carol", "c", n3.c2s_port).connect()
    carol.presence(0)
    await cl.subscribe_both(carol, alice, STEP)
    await carol.close()
    carol = await cl.Client("carol", "c2", n3.c2s_port).connect()
    carol.presence(0)
    await carol.wait_for(cl.is_presence(alice.jid), STEP, "probe answer with alice's presence")
    print("presence probe n3 -> n1: OK")

    # 5. The same full JID on n3 replaces the session on n1.
    alice2 = await cl.Client("alice", "desk", n3.c2s_port).connect()
    try:
        await cl.asyncio.wait_for(alice.closed.wait(), STEP)
    except cl.asyncio.TimeoutError:
        raise cl.TestFailure("the first alice/desk (n1) was not closed after a login on n3")
    if alice.stream_error != "conflict":
        raise cl.TestFailure("first alice/desk ended with %r, expected <conflict/>" % alice.stream_error)
    alice2.presence(0)
    bob.message(alice2.jid, "after-conflict")
    await alice2.wait_for(cl.is_msg("after-conflict"), STEP, "message to the new alice/desk")
    print("second login of alice/desk on n3 replaced the one on n1 (<conflict/>): OK")

    # 6. Session counts.
    rows = cl.wait_until(lambda: (lambda r: r if r.get("n3", ("", ""))[1] == "2" else None)(n1.status_rows()),
                         STEP, "n1 sees 2 sessions on n3")
    print("cluster status on n1:", rows)
    for c in (alice2, bob, carol):
        await c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    def on_alarm(_s, _f):
        raise cl.TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    work = tempfile.mkdtemp(prefix="dja-cluster-")
    nodes = []
    try:
        binary = os.path.abspath(args.server)
        ca = cl.make_ca(work, "ca")
        shared = os.path.join(work, "shared")
        os.makedirs(shared)
        users = ["alice", "bob", "carol"]
        for name in ("n1", "n2", "n3"):
            nodes.append(cl.Node(binary, work, name, users, ca[0], cl.make_cert(work, ca, name), shared))
        for n in nodes:
            n.peers = [m.cluster_addr for m in nodes if m is not n]
        # Any start order: n3 first, n1 last.
        for n in reversed(nodes):
            n.start()
        cl.wait_cluster(nodes)
        print("three nodes up and linked")
        cl.run(scenario(*nodes), args.limit - 30)
        for n in nodes:
            if n.proc.poll() is not None:
                raise cl.TestFailure("node %s exited during the test" % n.name)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (cl.TestFailure, Exception) as e:  # noqa: BLE001
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        for n in nodes:
            print("--- %s log ---\n%s" % (n.name, n.log_tail(25)))
        return 1
    finally:
        for n in nodes:
            n.kill(signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
