"""Error paths of the outgoing s2s stream, against hand-written remote
servers (harness.FakeServer), each answering a.test's stream its own way.
a.test has s2s_tls = "required" and trusts the test's private CA. Every
case must bounce the waiting message to its sender with the right
condition, in bounded time:

* the peer offers no STARTTLS            -> remote-server-not-found
* the peer sends a stream error at once  -> remote-server-not-found
* dialback answered type='invalid'       -> remote-server-not-found
* the peer stops answering after TLS     -> remote-server-timeout
* the peer refuses STARTTLS (<failure/>) -> remote-server-not-found
* a pre-1.0 peer (no version, no features, no TLS) -> remote-server-not-found
  (s2s_tls = "required")
* the peer takes an iq get, then closes the stream without answering:
  the iq is answered remote-server-timeout once the handshake timeout has
  passed (every iq get/set gets exactly one answer)
"""

import time

from harness import (NS_DB, NS_STREAM, NS_TLS, Client, Failure, FakeServer, Instance, TempDir,
                     error_condition, make_ca, q, read_header, server_header)

FEATURES_TLS = ("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                "<required/></starttls></stream:features>")
FEATURES_DB = ("<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
               "</stream:features>")


def to_tls(s, tls_wrap, domain):
    """Header, STARTTLS, the restart: the stream as the peer sees it after TLS."""
    read_header(s)
    server_header(s, domain, "a.test")
    s.send(FEATURES_TLS)
    s.expect(lambda e: e.tag == q(NS_TLS, "starttls"), what="starttls")
    s.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    tls_wrap()
    s.header = None
    read_header(s)
    server_header(s, domain, "a.test", "tls-id")


def no_starttls(s, tls_wrap):
    read_header(s)
    server_header(s, "f1.test", "a.test")
    s.send(FEATURES_DB)
    s.wait_closed()


def stream_error_at_once(s, tls_wrap):
    read_header(s)
    server_header(s, "f2.test", "a.test")
    s.send("<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
           "</stream:error></stream:stream>")
    s.wait_closed()


def dialback_invalid(s, tls_wrap):
    to_tls(s, tls_wrap, "f3.test")
    s.send(FEATURES_DB)
    r = s.expect(lambda e: e.tag == q(NS_DB, "result"), what="db:result")
    if r.get("from") != "a.test" or r.get("to") != "f3.test" or len(r.text or "") != 64:
        raise Failure("db:result: %r %r" % (r.attrib, r.text))
    s.send("<db:result from='f3.test' to='a.test' type='invalid'/>")
    s.wait_closed()


def silent_after_tls(s, tls_wrap):
    to_tls(s, tls_wrap, "f4.test")
    s.send(FEATURES_DB)
    s.expect(lambda e: e.tag == q(NS_DB, "result"), what="db:result")
    s.wait_closed(10)  # never answers; a.test gives up


def starttls_refused(s, tls_wrap):
    read_header(s)
    server_header(s, "f5.test", "a.test")
    s.send(FEATURES_TLS)
    s.expect(lambda e: e.tag == q(NS_TLS, "starttls"), what="starttls")
    s.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
    s.wait_closed()


def iq_then_close(s, tls_wrap):
    to_tls(s, tls_wrap, "f6.test")
    s.send(FEATURES_DB)
    s.expect(lambda e: e.tag == q(NS_DB, "result"), what="db:result")
    s.send("<db:result from='f6.test' to='a.test' type='valid'/>")
    s.expect(lambda e: e.tag == "{jabber:server}iq", what="the iq")
    s.send("</stream:stream>")
    s.wait_closed()


def pre_1_0(s, tls_wrap):
    read_header(s)
    s.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
           "xmlns:db='%s' from='f7.test' id='old'>" % (NS_STREAM, NS_DB))
    s.wait_closed()  # no features, no TLS: a.test requires TLS


CASES = [("f1.test", no_starttls, "remote-server-not-found"),
         ("f2.test", stream_error_at_once, "remote-server-not-found"),
         ("f3.test", dialback_invalid, "remote-server-not-found"),
         ("f4.test", silent_after_tls, "remote-server-timeout"),
         ("f5.test", starttls_refused, "remote-server-not-found"),
         ("f6.test", iq_then_close, "remote-server-timeout"),
         ("f7.test", pre_1_0, "remote-server-not-found")]


def run(binary, log=print):
    tmp = TempDir()
    certs = make_ca(tmp.path, [("a", "a.test")] + [(d, d) for d, _, _ in CASES])
    # The fake servers hold their ports before a.test picks its own.
    fakes = [FakeServer("127.0.0.1", script, cert=certs[domain]) for domain, script, _ in CASES]
    a = Instance(binary, tmp.path, "a.test", "127.0.0.1", cert=certs["a"],
                 server_extra='s2s_tls = "required"\ns2s_ca_file = "%s"\n'
                              's2s_connect_timeout = 2\ns2s_handshake_timeout = 3\n' % certs["ca"][0])
    for (domain, _, _), f in zip(CASES, fakes):
        a.routes.append((domain, "127.0.0.1", f.port))
    ok = False
    try:
        a.start()
        alice = Client(a, "alice")
        for (domain, script, cond), fake in zip(CASES, fakes):
            t0 = time.monotonic()
            if script is iq_then_close:
                alice.send("<iq type='get' to='x@%s' id='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
                           % (domain, domain))
            else:
                alice.send("<message to='x@%s' id='%s' type='chat'><body>?</body></message>"
                           % (domain, domain))
            r = alice.expect(lambda e: e.get("id") == domain, 6, "bounce from " + domain)
            dt = time.monotonic() - t0
            if error_condition(r) != cond:
                raise Failure("%s: expected %s, got %r" % (domain, cond, error_condition(r)))
            fake.close()
            if fake.errors:
                raise Failure("%s: the fake server saw: %s" % (domain, fake.errors))
            alice.nothing(0.3)  # exactly one answer
            log("%s (%s): %s in %.2fs" % (domain, script.__name__, cond, dt))
        ok = True
    finally:
        a.stop()
        if not ok:
            print("--- a.test log ---\n%s" % a.log_tail(60))
        tmp.cleanup()
