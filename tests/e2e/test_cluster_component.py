#!/usr/bin/python3
"""End-to-end test: a XEP-0114 component on a two-node cluster
(docs/components.md, "On a cluster"). Nodes n1 and n2 (cluster_lib.py)
both serve the component domain gw.localhost and have a component
listener; then:

1. the component connects to n1; alice on n2 messages bot@gw.localhost
   and the component gets it; its answer and an iq round trip reach her;
2. a second component of the domain connecting to n2 gets <conflict/>
   (the directory shows the first on n1);
3. the component leaves: alice's next message bounces with
   <service-unavailable/>;
4. it connects to n2 instead: bob on n1 reaches it there.

    /usr/bin/python3 tests/e2e/test_cluster_component.py --server build/djabberd-actors
"""

import asyncio
import hashlib
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402

NAME = "test_cluster_component"
STEP = 10
NS_ACCEPT = "jabber:component:accept"
EXTRA = """
[[listen]]
kind = "component"
address = "127.0.0.1"
port = {port}

[[vhost]]
domain = "gw.localhost"
  [[vhost.plugin]]
  type = "component"
  secret = "s3cret"
"""

_write_config = cl.Node.write_config


def write_config(node):
    """cluster_lib's configuration plus a component listener and domain."""
    _write_config(node)
    if not hasattr(node, "component_port"):
        node.component_port = cl.free_port()
    with open(node.config, "a") as f:
        f.write(EXTRA.format(port=node.component_port))


cl.Node.write_config = write_config


class Component(cl.Client):
    """A XEP-0114 component stream (raw, on cluster_lib's reader)."""

    def __init__(self, port):
        super().__init__("gw", "component", port)
        self.jid = self.bare = "gw.localhost"

    async def connect(self, timeout=STEP):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), timeout)
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.send_raw("<stream:stream xmlns='%s' xmlns:stream='%s' to='gw.localhost'>"
                      % (NS_ACCEPT, cl.NS_STREAM))
        data = b""
        while not re.search(rb"<stream:stream[^>]*>", data):
            chunk = await asyncio.wait_for(self.reader.read(4096), timeout)
            if not chunk:
                raise cl.TestFailure("component: connection closed before the header")
            data += chunk
        sid = re.search(rb"id=['\"]([^'\"]+)['\"]", data).group(1).decode()
        self.parser.feed(data)
        self._task = asyncio.ensure_future(self._read_loop())
        self.send_raw("<handshake>%s</handshake>" % hashlib.sha1((sid + "s3cret").encode()).hexdigest())
        await self._expect(lambda e: cl.tag(e) == "handshake", timeout)
        return self


def body_is(text, frm=None):
    def pred(e):
        b = e.find("{%s}body" % NS_ACCEPT)
        return (cl.tag(e) == "message" and b is not None and b.text == text
                and (frm is None or e.get("from") == frm))
    return pred


async def scenario(n1, n2):
    gw = await Component(n1.component_port).connect()
    alice = await cl.Client("alice", "a", n2.c2s_port).connect()
    bob = await cl.Client("bob", "b", n1.c2s_port).connect()

    # 1. alice on n2 <-> the component on n1.
    alice.message("bot@gw.localhost", "hello")
    await gw.wait_for(body_is("hello", alice.jid), STEP, "alice's message on n1")
    gw.send("<message from='bot@gw.localhost' to='%s' type='chat'><body>echo</body></message>" % alice.jid)
    await alice.wait_for(cl.is_msg("echo", "bot@gw.localhost"), STEP, "the component's answer")
    alice.send("<iq type='get' to='gw.localhost' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
    iq = await gw.wait_for(lambda e: cl.tag(e) == "iq" and e.get("id") == "d1", STEP, "alice's iq")
    gw.send("<iq type='result' from='gw.localhost' to='%s' id='d1'/>" % iq.get("from"))
    await alice.wait_for(lambda e: cl.tag(e) == "iq" and e.get("id") == "d1" and e.get("type") == "result",
                         STEP, "the iq result")
    print("alice(n2) <-> component(n1): OK")

    # 2. A second component of the domain, on n2.
    twin = Component(n2.component_port)
    try:
        await twin.connect()
        raise cl.TestFailure("a second component of gw.localhost was accepted on n2")
    except cl.TestFailure as e:
        if twin.stream_error != "conflict":
            raise cl.TestFailure("second component: expected <conflict/>, got %s" % e)
    print("second component on n2 refused (conflict): OK")

    # 3. Gone: bounced.
    await gw.close()
    await asyncio.sleep(1.0)  # the unbind reaches n2's directory
    alice.message("bot@gw.localhost", "anyone?", mid="m-gone")
    err = await alice.wait_for(lambda e: e.get("id") == "m-gone", STEP, "the bounce")
    if err.get("type") != "error" or err.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable") is None:
        raise cl.TestFailure("expected <service-unavailable/>: %s" % ET.tostring(err))
    print("component gone: service-unavailable on n2: OK")

    # 4. Now on n2, reached from n1.
    gw2 = await Component(n2.component_port).connect()
    await asyncio.sleep(0.5)
    bob.message("bot@gw.localhost", "from n1")
    await gw2.wait_for(body_is("from n1", bob.jid), STEP, "bob's message on n2")
    print("bob(n1) -> component(n2): OK")
    for c in (gw2, alice, bob):
        await c.close()


if __name__ == "__main__":
    sys.exit(cl.main(NAME, __doc__, scenario, ["n1", "n2"], ["alice", "bob"]))
