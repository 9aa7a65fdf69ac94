"""What federation refuses, and how (RFC 6120 §4.9.3, XEP-0178, XEP-0220):

* a peer whose certificate names another domain, for a domain listed in
  s2s_require_certificate: refused in both directions (our stanza bounces
  with remote-server-not-found; its dialback gets policy-violation); for a
  domain not listed, the same certificate falls back to dialback over TLS;
* a hand-written peer that authenticates as a.test by dialback (with a.test's
  secret) and then sends a forged `from` gets <invalid-from/>; a stanza to a
  domain not served gets <host-unknown/>; one without `from` gets
  <improper-addressing/>; a stanza before authentication <invalid-from/>;
* a peer that accepts TCP and stays silent: remote-server-timeout after the
  handshake timeout, while messages between a.test and b.test keep flowing;
* a domain with no DNS record: remote-server-not-found (SRV, then A/AAAA).
"""

import socket
import time

from federation import STEP, collect, start_pair
from harness import (NS_CLIENT, NS_DB, NS_STREAM, Client, Failure, Instance, SilentPeer,
                     Stream, TempDir, error_condition, make_ca, q, stream_error)

SECRET = "0123456789abcdef-test-secret"


def dialback_key(secret, receiving, originating, stream_id):
    import hashlib
    import hmac
    key = hashlib.sha256(secret.encode()).hexdigest().encode()
    text = ("%s %s %s" % (receiving, originating, stream_id)).encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def raw_peer(b, as_domain, secret):
    """An s2s stream to b that authenticated `as_domain` by dialback."""
    s = Stream(socket.create_connection((b.addr, b.s2s_port), timeout=5), "peer")
    s.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='%s' xmlns:db='%s' from='%s' to='%s' version='1.0'>"
           % (NS_STREAM, NS_DB, as_domain, b.domain))
    s.expect(lambda e: e.tag == q(NS_STREAM, "features"), what="features")
    sid = s.header.get("id")
    s.send("<db:result from='%s' to='%s'>%s</db:result>"
           % (as_domain, b.domain, dialback_key(secret, b.domain, as_domain, sid)))
    r = s.expect(lambda e: e.tag == q(NS_DB, "result"), STEP, "db:result")
    if r.get("type") != "valid":
        raise Failure("dialback as %s: %r" % (as_domain, r.attrib))
    return s


def expect_stream_error(s, cond):
    el = s.expect(lambda e: e.tag == q(NS_STREAM, "error"), STEP, "stream error " + cond)
    if stream_error(el) != cond:
        raise Failure("expected <%s/>, got <%s/>" % (cond, stream_error(el)))
    s.wait_closed()


def forged_from(a, b, log):
    bob = Client(b, "bob")
    s = raw_peer(b, "a.test", SECRET)
    s.send("<message from='mallory@evil.test' to='%s' id='f1'><body>forged</body></message>" % bob.full)
    expect_stream_error(s, "invalid-from")
    s = raw_peer(b, "a.test", SECRET)
    s.send("<message from='alice@a.test/x' to='bob@nowhere.test' id='f2'><body>?</body></message>")
    expect_stream_error(s, "host-unknown")
    s = raw_peer(b, "a.test", SECRET)
    s.send("<message to='%s' id='f3'><body>no from</body></message>" % bob.full)
    expect_stream_error(s, "improper-addressing")
    # Not authenticated at all.
    s = Stream(socket.create_connection((b.addr, b.s2s_port), timeout=5), "peer")
    s.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
           "from='a.test' to='b.test' version='1.0'>" % NS_STREAM)
    s.expect(lambda e: e.tag == q(NS_STREAM, "features"), what="features")
    s.send("<message from='alice@a.test/x' to='%s' id='f4'><body>early</body></message>" % bob.full)
    expect_stream_error(s, "invalid-from")
    # A wrong dialback key is refused.
    s = Stream(socket.create_connection((b.addr, b.s2s_port), timeout=5), "peer")
    s.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
           "xmlns:db='%s' from='a.test' to='b.test' version='1.0'>" % (NS_STREAM, NS_DB))
    s.expect(lambda e: e.tag == q(NS_STREAM, "features"), what="features")
    s.send("<db:result from='a.test' to='b.test'>%s</db:result>" % ("0" * 64))
    r = s.expect(lambda e: e.tag == q(NS_DB, "result"), STEP, "db:result")
    if r.get("type") != "invalid":
        raise Failure("wrong dialback key: %r" % r.attrib)
    s.close()
    bob.nothing(0.5)
    log("forged from -> invalid-from, unknown to -> host-unknown, no from -> "
        "improper-addressing, unauthenticated -> invalid-from, wrong key -> invalid")


def silent_and_dns(a, b, silent, log):
    alice = Client(a, "alice")
    bob = Client(b, "bob")
    t0 = time.monotonic()
    alice.send("<message to='x@silent.test' id='s1' type='chat'><body>hello?</body></message>")
    alice.send("<iq type='get' to='silent.test' id='s2'><ping xmlns='urn:xmpp:ping'/></iq>")
    # Meanwhile other traffic flows.
    for i in range(5):
        alice.send("<message to='%s' id='n%d' type='chat'><body>%d</body></message>" % (bob.full, i, i))
        bob.expect(lambda e: e.get("id") == "n%d" % i, 2, "message n%d while a peer is silent" % i)
    busy = time.monotonic() - t0
    got = collect(alice, {"s1": lambda e: e.get("id") == "s1", "s2": lambda e: e.get("id") == "s2"}, 8)
    dt = time.monotonic() - t0
    for k in ("s1", "s2"):
        if error_condition(got[k]) != "remote-server-timeout":
            raise Failure("%s: expected remote-server-timeout, got %r" % (k, error_condition(got[k])))
    if dt < 2.5 or dt > 6:
        raise Failure("timeout bounce after %.1fs (handshake timeout 3s)" % dt)
    log("silent peer: remote-server-timeout after %.2fs; 5 messages a -> b meanwhile in %.2fs"
        % (dt, busy))
    t0 = time.monotonic()
    alice.send("<message to='x@nowhere.invalid' id='d1' type='chat'><body>?</body></message>")
    r = alice.expect(lambda e: e.get("id") == "d1", STEP, "bounce for nowhere.invalid")
    if error_condition(r) != "remote-server-not-found":
        raise Failure("no DNS record: got %r" % error_condition(r))
    log("no DNS record (nowhere.invalid): remote-server-not-found in %.2fs" % (time.monotonic() - t0))
    # Idle streams close (s2s_idle_timeout = 2 on a.test); the next
    # stanza opens a new one.
    deadline = time.monotonic() + 8
    while "s2s out a.test -> b.test: closed (idle;" not in a.log_text():
        if time.monotonic() > deadline:
            raise Failure("a.test -> b.test was not closed when idle")
        time.sleep(0.2)
    alice.send("<message to='%s' id='after-idle' type='chat'><body>again</body></message>" % bob.full)
    bob.expect(lambda e: e.get("id") == "after-idle", STEP, "message after the idle close")
    log("idle stream closed after s2s_idle_timeout; the next message opened a new one")


def wrong_certificate(binary, tmp, log):
    certs = make_ca(tmp, [("a", "a.test"), ("e", "wrong.test"), ("g", "wrong.test")])
    base = ('s2s_tls = "required"\ns2s_ca_file = "%s"\ns2s_connect_timeout = 2\n'
            's2s_handshake_timeout = 5\n' % certs["ca"][0])
    a = Instance(binary, tmp, "a.test", "127.0.0.1", cert=certs["a"],
                 server_extra=base + 's2s_require_certificate = ["e.test"]\n')
    e = Instance(binary, tmp, "e.test", "127.0.0.3", cert=certs["e"], server_extra=base)
    g = Instance(binary, tmp, "g.test", "127.0.0.4", cert=certs["g"], server_extra=base)
    a.routes += [("e.test", e.addr, e.s2s_port), ("g.test", g.addr, g.s2s_port)]
    e.routes.append(("a.test", a.addr, a.s2s_port))
    g.routes.append(("a.test", a.addr, a.s2s_port))
    try:
        for inst in (a, e, g):
            inst.start()
        alice = Client(a, "alice")
        eve = Client(e, "alice")
        gus = Client(g, "alice")
        alice.send("<message to='alice@e.test/r' id='w1' type='chat'><body>?</body></message>")
        r = alice.expect(lambda x: x.get("id") == "w1", STEP, "bounce from e.test")
        if error_condition(r) != "remote-server-not-found":
            raise Failure("wrong certificate (required): got %r" % error_condition(r))
        if "not valid for e.test" not in a.log_text():
            raise Failure("a.test's log does not say why e.test was refused")
        eve.send("<message to='%s' id='w2' type='chat'><body>?</body></message>" % alice.full)
        r = eve.expect(lambda x: x.get("id") == "w2", STEP, "bounce for e.test -> a.test")
        if error_condition(r) != "remote-server-not-found":
            raise Failure("e.test -> a.test: got %r" % error_condition(r))
        alice.nothing(0.5)
        log("certificate for the wrong domain, certificate required: refused both ways")
        # Not in s2s_require_certificate: dialback over TLS instead.
        gus.send("<message to='%s' id='w3' type='chat'><body>via dialback</body></message>" % alice.full)
        alice.expect(lambda x: x.get("id") == "w3", STEP, "message from g.test")
        alice.send("<message to='alice@g.test/r' id='w4' type='chat'><body>back</body></message>")
        gus.expect(lambda x: x.get("id") == "w4", STEP, "message to g.test")
        if "s2s out a.test -> g.test: authenticated (dialback, TLSv1" not in a.log_text():
            raise Failure("a.test -> g.test did not use dialback over TLS")
        log("certificate for the wrong domain, not required: dialback over TLS")
    except Failure:
        for inst in (a, e, g):
            print("--- %s log ---\n%s" % (inst.domain, inst.log_tail(40)))
        raise
    finally:
        for inst in (a, e, g):
            inst.stop()


def run(binary, log=print):
    tmp = TempDir()
    silent = SilentPeer("127.0.0.1")
    a, b = start_pair(binary, tmp.path, "dialback",
                      extra_a='s2s_dialback_secret = "%s"\ns2s_idle_timeout = 2\n' % SECRET)
    a.server_extra = a.server_extra.replace("s2s_handshake_timeout = 5", "s2s_handshake_timeout = 3")
    a.routes.append(("silent.test", "127.0.0.1", silent.port))
    ok = False
    try:
        a.start()
        b.start()
        forged_from(a, b, log)
        silent_and_dns(a, b, silent, log)
        ok = True
    finally:
        a.stop()
        b.stop()
        silent.close()
        if not ok:
            for inst in (a, b):
                print("--- %s log ---\n%s" % (inst.domain, inst.log_tail(60)))
    wrong_certificate(binary, tmp.path, log)
    tmp.cleanup()
