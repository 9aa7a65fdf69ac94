"""Two djabberd-actors instances federating on loopback: a.test on
127.0.0.1 and b.test on 127.0.0.2 with static routes to each other.

mode "external": each has a certificate from a private CA the test makes
(openssl CLI), s2s_tls = "required", s2s_ca_file = that CA: streams in
both directions use STARTTLS and SASL EXTERNAL (XEP-0178).
mode "dialback": no certificates, s2s_tls = "optional": Server Dialback
(XEP-0220) over plain TCP, verified on a separate connection back.

Checks: messages both ways, iq (ping to the remote server, ping to a remote
full JID answered by the client, vCard of a remote user), the full
subscription handshake both ways with presence, the authentication method
in the logs, and a bounce (remote-server-not-found) for a domain routed to
a closed port within the connect timeout.
"""

import time

from harness import (NS_CLIENT, Client, Failure, Instance, TempDir, error_condition,
                     free_port, make_ca, q)

STEP = 10


def collect(stream, wanted, timeout=STEP):
    """Reads stanzas until each predicate in `wanted` (name -> pred) has
    matched one; others are ignored. Returns name -> stanza."""
    got = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(wanted):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("%s: still waiting for %s" % (stream.name, sorted(set(wanted) - set(got))))
        el = stream.next(left, "any of " + ", ".join(sorted(set(wanted) - set(got))))
        for name, pred in wanted.items():
            if name not in got and pred(el):
                got[name] = el
                break
    return got


def pres(frm, type_=None):
    def pred(e):
        return (e.tag == q(NS_CLIENT, "presence") and e.get("from") == frm
                and e.get("type") == type_)
    return pred


def start_pair(binary, tmp, mode, extra_a=""):
    extra = "s2s_connect_timeout = 2\ns2s_handshake_timeout = 5\n"
    certs = None
    if mode == "external":
        certs = make_ca(tmp, [("a", "a.test"), ("b", "b.test")])
        extra += 's2s_tls = "required"\ns2s_ca_file = "%s"\n' % certs["ca"][0]
    else:
        extra += 's2s_tls = "optional"\n'
    a = Instance(binary, tmp, "a.test", "127.0.0.1", cert=certs and certs["a"],
                 server_extra=extra + extra_a)
    b = Instance(binary, tmp, "b.test", "127.0.0.2", cert=certs and certs["b"],
                 server_extra=extra)
    a.routes.append(("b.test", "127.0.0.2", b.s2s_port))
    b.routes.append(("a.test", "127.0.0.1", a.s2s_port))
    return a, b


def run(binary, mode, log=print):
    tmp = TempDir()
    a, b = start_pair(binary, tmp.path, mode)
    closed_port = free_port("127.0.0.1")
    a.routes.append(("c.test", "127.0.0.1", closed_port))
    ok = False
    try:
        a.start()
        b.start()
        alice = Client(a, "alice")
        bob = Client(b, "bob")
        log("connected alice and bob")

        # Stanzas sent while the stream is being set up arrive in order.
        alice.send("".join("<message to='%s' id='q%d' type='chat'><body>%d</body></message>"
                           % (bob.full, i, i) for i in range(20)))
        ids = [bob.next(STEP, "queued message").get("id") for _ in range(20)]
        if ids != ["q%d" % i for i in range(20)]:
            raise Failure("queued messages out of order: %s" % ids)
        log("20 messages queued during stream setup arrived in order")
        # Messages both ways (the first b -> a opens that stream).
        alice.send("<message to='%s' id='m1' type='chat'><body>hi bob</body></message>" % bob.full)
        m = bob.expect(lambda e: e.get("id") == "m1", STEP, "message m1")
        if m.get("from") != alice.full or m.findtext(q(NS_CLIENT, "body")) != "hi bob":
            raise Failure("bob: wrong message %r" % m.attrib)
        bob.send("<message to='%s' id='m2' type='chat'><body>hi alice</body></message>" % alice.full)
        m = alice.expect(lambda e: e.get("id") == "m2", STEP, "message m2")
        if m.get("from") != bob.full:
            raise Failure("alice: wrong message %r" % m.attrib)
        log("messages both ways")

        # Ping the remote server (answered by b.test's ping plugin).
        alice.send("<iq type='get' to='b.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        r = alice.expect(lambda e: e.get("id") == "p1", STEP, "ping result")
        if r.get("type") != "result" or r.get("from") != "b.test":
            raise Failure("ping b.test: %r" % r.attrib)
        # Ping a remote client: bob answers it himself.
        alice.send("<iq type='get' to='%s' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>" % bob.full)
        iq = bob.expect(lambda e: e.get("id") == "p2", STEP, "ping from alice")
        bob.send("<iq type='result' to='%s' id='p2'/>" % iq.get("from"))
        r = alice.expect(lambda e: e.get("id") == "p2", STEP, "ping result from bob")
        if r.get("type") != "result" or r.get("from") != bob.full:
            raise Failure("ping bob: %r" % r.attrib)
        log("iq ping to the remote server and to a remote client")

        # vCard of a remote user (RFC 6120 §10.5.3.1: answered by b.test).
        bob.send("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Bob Builder</FN></vCard></iq>")
        bob.expect(lambda e: e.get("id") == "v1" and e.get("type") == "result", STEP, "vCard set")
        alice.send("<iq type='get' to='bob@b.test' id='v2'><vCard xmlns='vcard-temp'/></iq>")
        r = alice.expect(lambda e: e.get("id") == "v2", STEP, "vCard result")
        fn = r.findtext(".//{vcard-temp}FN")
        if r.get("type") != "result" or fn != "Bob Builder":
            raise Failure("remote vCard: type %s, FN %r" % (r.get("type"), fn))
        log("vCard of a remote user")

        # A full subscription handshake, both directions (RFC 6121 §3).
        for c in (alice, bob):
            c.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
            c.expect(lambda e: e.get("id") == "roster", STEP, "roster", skip=(q(NS_CLIENT, "presence"),))
            c.send("<presence/>")
        alice.send("<presence to='bob@b.test' type='subscribe'/>")
        collect(bob, {"subscribe": pres("alice@a.test", "subscribe")})
        bob.send("<presence to='alice@a.test' type='subscribed'/>")
        collect(alice, {"subscribed": pres("bob@b.test", "subscribed"),
                        "bob available": pres(bob.full)})
        bob.send("<presence to='alice@a.test' type='subscribe'/>")
        collect(alice, {"subscribe": pres("bob@b.test", "subscribe")})
        alice.send("<presence to='bob@b.test' type='subscribed'/>")
        collect(bob, {"subscribed": pres("alice@a.test", "subscribed"),
                      "alice available": pres(alice.full)})
        log("subscription handshake both ways, presence after approval")
        # Both subscribed: a change of presence reaches the other server.
        alice.send("<presence><show>away</show></presence>")
        got = collect(bob, {"away": lambda e: pres(alice.full)(e)
                            and e.findtext(q(NS_CLIENT, "show")) == "away"})
        log("presence broadcast across servers (%s)" % got["away"].get("from"))

        # Probes (RFC 6121 §4.3): alice logs in again; her initial
        # presence probes bob@b.test, which answers with bob's presence;
        # bob learns that alice left and came back.
        alice.close()
        collect(bob, {"alice gone": pres(alice.full, "unavailable")})
        alice = Client(a, "alice", resource="again")
        alice.send("<iq type='get' id='roster2'><query xmlns='jabber:iq:roster'/></iq>")
        r = alice.expect(lambda e: e.get("id") == "roster2", STEP, "roster")
        items = {i.get("jid"): i.get("subscription") for i in r.iter("{jabber:iq:roster}item")}
        if items.get("bob@b.test") != "both":
            raise Failure("alice's roster after the handshake: %r" % items)
        alice.send("<presence/>")
        collect(alice, {"probe answer": pres(bob.full)})
        collect(bob, {"alice back": pres(alice.full)})
        log("probe across servers: bob's presence after alice's login; roster says 'both'")

        # A domain routed to a closed port: bounced within the timeout.
        t0 = time.monotonic()
        alice.send("<message to='x@c.test' id='m3' type='chat'><body>anyone?</body></message>")
        alice.send("<iq type='get' to='c.test' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>")
        got = collect(alice, {"m3": lambda e: e.get("id") == "m3", "p3": lambda e: e.get("id") == "p3"})
        dt = time.monotonic() - t0
        for k in ("m3", "p3"):
            if error_condition(got[k]) != "remote-server-not-found":
                raise Failure("%s: expected remote-server-not-found, got %r" % (k, error_condition(got[k])))
        if dt > 4:
            raise Failure("bounce took %.1fs (connect timeout 2s)" % dt)
        alice.nothing(0.5, skip=(q(NS_CLIENT, "presence"),))
        log("closed port: message and iq bounced with remote-server-not-found in %.2fs" % dt)

        method = "EXTERNAL" if mode == "external" else "dialback"
        tls = "TLSv1" if mode == "external" else "no TLS"
        for inst, other in ((a, "b.test"), (b, "a.test")):
            text = inst.log_text()
            for direction in ("out %s -> %s" % (inst.domain, other), "in %s <- %s" % (inst.domain, other)):
                line = "s2s %s: authenticated (%s, %s" % (direction, method, tls)
                if line not in text:
                    raise Failure("%s: no log line %r" % (inst.domain, line))
        log("log lines name the method (%s) on both servers, both directions" % method)

        # The admin command lists the open streams.
        import os
        import subprocess
        out = subprocess.run([binary, "s2s", "status", "--config", os.path.join(a.dir, "server.toml")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        text = out.stdout.decode()
        for needle in ("out a.test -> b.test %s" % method, "in  a.test <- b.test %s" % method):
            if out.returncode != 0 or needle not in text:
                raise Failure("s2s status: expected %r in:\n%s" % (needle, text))
        log("s2s status:\n  " + text.strip().replace("\n", "\n  "))
        ok = True
    finally:
        rc = (a.stop(), b.stop())
        if not ok:
            for inst in (a, b):
                print("--- %s log ---\n%s" % (inst.domain, inst.log_tail(60)))
        tmp.cleanup()
    if rc != (0, 0):
        raise Failure("servers exited with %r" % (rc,))
