#!/usr/bin/python3
"""End-to-end test: hops in flight to a node that dies fail at its loss,
not at the forward timeout, and go where the recipient is now.

Three nodes (forward timeout 20 s, so a wait for it cannot pass the
test). bob is bound on n2; n2 is frozen (SIGSTOP): hops to it are sent
and never acknowledged. alice (n1) sends m1 to bob's bare JID — in
flight to the frozen n2. bob logs in on n3 too; then n2 is killed
(SIGKILL). n1 must fail the hop at once and route m1 again on its
directory as it is now: bob's resource on n3 gets it within a few
seconds of the kill (at the timeout it would be 20 s). Then m2, sent to
bob's full JID on the frozen n2 by carol (n3) just before the kill,
must also come back: to bob's other resource (RFC 6121 §8.5.3.2.1: a
message to an unavailable full JID goes as to the bare JID).
No message arrives twice.

    /usr/bin/python3 tests/e2e/test_cluster_hop_in_flight.py --server build/djabberd-actors
"""

import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402

NAME = "test_cluster_hop_in_flight"
STEP = 10
LIMIT = 5.0  # seconds from the kill to bob's other resource getting it


async def scenario(n1, n2, n3):
    alice = await cl.Client("alice", "a", n1.c2s_port).connect()
    carol = await cl.Client("carol", "c", n3.c2s_port).connect()
    bob = await cl.Client("bob", "phone", n2.c2s_port).connect()
    for c in (alice, carol, bob):
        c.presence(0)
    for c in (alice, carol, bob):
        await c.wait_for(cl.is_presence(c.jid), STEP, "own presence")
    await asyncio.sleep(0.5)  # bob's bind reaches every directory

    n2.proc.send_signal(signal.SIGSTOP)
    alice.message(bob.bare, "m1", "m1")
    carol.message(bob.jid, "m2", "m2")
    await asyncio.sleep(0.5)
    laptop = await cl.Client("bob", "laptop", n3.c2s_port).connect()
    laptop.presence(-1)  # negative: bare-JID messages do not pick it...
    await laptop.wait_for(cl.is_presence(laptop.jid), STEP, "own presence")
    laptop.presence(0)   # ...until now, after the hops left
    await asyncio.sleep(0.5)
    if any(cl.tag(e) == "message" for e in laptop.inbox):
        raise cl.TestFailure("a message reached the laptop before the kill: %s"
                             % [e.get("id") for e in laptop.inbox])
    t_kill = time.monotonic()
    n2.proc.send_signal(signal.SIGKILL)
    print("n2 frozen with m1 (to bob's bare JID) and m2 (to bob/phone) in "
          "flight, then killed")

    got = {}
    for mid in ("m1", "m2"):
        e = await laptop.wait_for(cl.is_msg(mid), LIMIT + 15, mid + " on bob/laptop")
        got[mid] = laptop.received_at.get(id(e), time.monotonic()) - t_kill
    print("bob/laptop (n3) got m1 %.2f s and m2 %.2f s after the kill"
          % (got["m1"], got["m2"]))
    if max(got.values()) > LIMIT:
        raise cl.TestFailure("in-flight hops failed only after %.1f s (limit "
                             "%.1f s): node loss did not fail them"
                             % (max(got.values()), LIMIT))
    await asyncio.sleep(1.0)
    # wait_for took m1 and m2 out of the inbox: anything left is a copy
    extra = [b.text for e in laptop.inbox if cl.tag(e) == "message"
             for b in [e.find("{jabber:client}body")] if b is not None]
    if extra:
        raise cl.TestFailure("bob/laptop got %s a second time" % extra)
    bounced = [e.get("id") for c in (alice, carol) for e in c.inbox
               if cl.tag(e) == "message" and e.get("type") == "error"]
    if bounced:
        raise cl.TestFailure("senders got errors for %s" % bounced)
    for c in (alice, carol, laptop):
        await c.close()
    n2.kill()   # reaps it; it comes back and rejoins
    n2.start()
    cl.wait_cluster([n1, n2, n3], 30)
    print("n2 restarted and rejoined")


if __name__ == "__main__":
    sys.exit(cl.main(NAME, __doc__, scenario, ["n1", "n2", "n3"],
                     ["alice", "bob", "carol"], limit=120,
                     forward_timeout_ms=20000))
