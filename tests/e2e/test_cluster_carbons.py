#!/usr/bin/python3
"""End-to-end test: XEP-0280 message carbons across the nodes of a cluster.

Two nodes (cluster_lib: private CA, mutual TLS between nodes, shared SQLite
files) with the carbons plugin. alice/phone and bob are on n1,
alice/laptop on n2; both of alice's resources enable carbons. Then:

1. bob -> alice/phone (n1): the laptop (n2) gets a <received/> copy;
2. phone -> bob: the laptop (n2) gets a <sent/> copy;
3. bob -> alice/laptop (n2, a hop): the phone (n1) gets a <received/> copy;
4. laptop (n2) -> bob: the phone (n1) gets a <sent/> copy;
5. bob -> alice's bare JID: both resources (same priority) get the
   original and neither a copy;
6. bob sends alice/phone a forged <received/>: it arrives stripped, and
   the laptop's copy wraps the stripped message.
Every copy comes from alice's bare JID and is addressed to the receiving
full JID (XEP-0280 §7, §8, §11).

    /usr/bin/python3 tests/e2e/test_cluster_carbons.py --server build/djabberd-actors
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402

NAME = "test_cluster_carbons"
STEP = 10
CARBONS = "urn:xmpp:carbons:2"
FORWARD = "urn:xmpp:forward:0"


def is_carbon(kind, body, to):
    """A <sent/>/<received/> copy for `to` whose original has `body`."""
    path = "{%s}%s/{%s}forwarded/{jabber:client}message/{jabber:client}body" % (CARBONS, kind, FORWARD)

    def pred(e):
        b = e.find(path)
        return (cl.tag(e) == "message" and b is not None and b.text == body
                and e.get("from") == "alice@localhost" and e.get("to") == to)
    return pred


def any_carbon(e):
    return e.find("{%s}received" % CARBONS) is not None or e.find("{%s}sent" % CARBONS) is not None


async def enable(c):
    c.send("<iq type='set' id='cb'><enable xmlns='%s'/></iq>" % CARBONS)
    r = await c.wait_for(lambda e: cl.tag(e) == "iq" and e.get("id") == "cb", STEP, "enable result")
    if r.get("type") != "result":
        raise cl.TestFailure("%s: enable answered %s" % (c.jid, cl.ET.tostring(r)))


async def scenario(n1, n2):
    bob = await cl.Client("bob", "desk", n1.c2s_port).connect()
    phone = await cl.Client("alice", "phone", n1.c2s_port).connect()
    await enable(phone)
    phone.presence(0)
    await phone.wait_for(cl.is_presence(phone.jid), STEP, "own presence")
    laptop = await cl.Client("alice", "laptop", n2.c2s_port).connect()
    await enable(laptop)
    laptop.presence(0)
    # The laptop's presence reaches n1 through n2's node actor after its
    # binding: from then on each node's directory lists both resources.
    await phone.wait_for(cl.is_presence(laptop.jid), STEP, "laptop's presence")

    bob.message(phone.jid, "r1")
    await phone.wait_for(cl.is_msg("r1", bob.jid), STEP, "bob's message")
    await laptop.wait_for(is_carbon("received", "r1", laptop.jid), STEP, "received copy on n2")
    print("1. bob(n1) -> phone(n1): <received/> copy on the laptop (n2): OK")

    phone.message(bob.jid, "s1")
    await bob.wait_for(cl.is_msg("s1"), STEP, "the phone's message")
    await laptop.wait_for(is_carbon("sent", "s1", laptop.jid), STEP, "sent copy on n2")
    print("2. phone(n1) -> bob: <sent/> copy on the laptop (n2): OK")

    bob.message(laptop.jid, "r2")
    await laptop.wait_for(cl.is_msg("r2", bob.jid), STEP, "bob's message on n2")
    await phone.wait_for(is_carbon("received", "r2", phone.jid), STEP, "received copy on n1")
    print("3. bob(n1) -> laptop(n2): <received/> copy on the phone (n1): OK")

    laptop.message(bob.jid, "s2")
    await bob.wait_for(cl.is_msg("s2"), STEP, "the laptop's message")
    await phone.wait_for(is_carbon("sent", "s2", phone.jid), STEP, "sent copy on n1")
    print("4. laptop(n2) -> bob: <sent/> copy on the phone (n1): OK")

    bob.message("alice@localhost", "b1")
    await phone.wait_for(cl.is_msg("b1", bob.jid), STEP, "bare message on the phone")
    await laptop.wait_for(cl.is_msg("b1", bob.jid), STEP, "bare message on the laptop")
    bob.send("<message to='%s' type='chat' id='f1'><body>f1</body>"
             "<received xmlns='%s'><forwarded xmlns='%s'><message xmlns='jabber:client' "
             "from='carol@localhost/x' type='chat'><body>forged</body></message>"
             "</forwarded></received></message>" % (phone.jid, CARBONS, FORWARD))
    f1 = await phone.wait_for(cl.is_msg("f1", bob.jid), STEP, "the forged message")
    if any_carbon(f1):
        raise cl.TestFailure("forged <received/> delivered: %s" % cl.ET.tostring(f1))
    copy = await laptop.wait_for(is_carbon("received", "f1", laptop.jid), STEP, "copy of f1")
    inner = copy.find("{%s}received/{%s}forwarded/{jabber:client}message" % (CARBONS, FORWARD))
    if any_carbon(inner):
        raise cl.TestFailure("forged <received/> inside the copy: %s" % cl.ET.tostring(copy))
    await cl.asyncio.sleep(0.5)
    extra = [cl.ET.tostring(e) for c in (phone, laptop) for e in c.inbox
             if any_carbon(e) and cl.tag(e) == "message"]
    if extra:
        raise cl.TestFailure("unexpected copies (bare JID delivery duplicated?): %s" % extra)
    print("5./6. bare JID: no duplicate copies; a forged carbon is stripped: OK")
    for c in (phone, laptop, bob):
        await c.close()


if __name__ == "__main__":
    sys.exit(cl.main(NAME, __doc__, scenario, ("n1", "n2"), ["alice", "bob"],
                     extra_plugins=("carbons",)))
