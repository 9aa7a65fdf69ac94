"""Interop with a real peer: Prosody (Debian's prosody package) federating
with djabberd-actors on loopback, in both directions.

djabberd-actors serves a.test on 127.0.0.1; Prosody serves p.test on
127.0.0.3, started by the test with a private config, data directory and
log in a temporary directory (never the system service). Both have
certificates from a private CA the test makes; each trusts that CA
(s2s_ca_file here, ssl.cafile there), so that streams may use SASL
EXTERNAL; whatever method each side picks is printed from the logs.

What had to change in Prosody for loopback federation (nothing else is
changed from its defaults for s2s):
  * Prosody has no static s2s routes and these machines have no DNS for
    a.test: the test loads a small module of its own (mod_test_s2s_routes,
    written into the temporary plugin directory) that answers Prosody's SRV
    resolver for a.test with 127.0.0.1 and djabberd-actors' s2s port;
  * run_as_root = true (the tests run as root), daemonize = false;
  * c2s: c2s_require_encryption = false and allow_unencrypted_plain_auth =
    true, only so that the test's minimal client can log in without TLS.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

from federation import STEP, collect, pres
from harness import Client, Failure, Instance, TempDir, free_port, make_ca

ROUTES_MODULE = """-- Test only: static s2s routes (Prosody resolves peers by DNS SRV).
local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";
local routes = module:get_option("test_s2s_routes", {});
local original = service.new;
local none = { next = function(_, cb) cb(nil); end };
service.new = function(hostname, service_name, proto, extra)
  local r = routes[hostname];
  if r then
    if service_name == "xmpp-server" then
      return basic.new(r[1], r[2], proto, extra);
    end
    return setmetatable({}, { __index = none });
  end
  return original(hostname, service_name, proto, extra);
end
module:log("info", "static s2s routes for the test loaded");
"""


class Prosody:
    def __init__(self, tmp, addr, domain, cert, ca, routes):
        self.dir = os.path.join(tmp, "prosody")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "plugins"), exist_ok=True)
        with open(os.path.join(self.dir, "plugins", "mod_test_s2s_routes.lua"), "w") as f:
            f.write(ROUTES_MODULE)
        self.addr = addr
        self.domain = domain
        self.c2s_port = free_port(addr)
        self.s2s_port = free_port(addr)
        self.log_path = os.path.join(self.dir, "prosody.log")
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        route_lua = ", ".join('["%s"] = { "%s", %d }' % r for r in routes)
        with open(self.cfg, "w") as f:
            f.write("""
run_as_root = true
daemonize = false
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
plugin_paths = {{ "{d}/plugins" }}
log = {{ debug = "{log}" }}
interfaces = {{ "{addr}" }}
c2s_ports = {{ {c2s} }}
s2s_ports = {{ {s2s} }}
c2s_direct_tls_ports = {{}}
s2s_direct_tls_ports = {{}}
http_ports = {{}}
https_ports = {{}}
modules_enabled = {{ "roster", "saslauth", "tls", "dialback", "disco", "ping", "vcard",
                    "test_s2s_routes" }}
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
ssl = {{ certificate = "{cert}", key = "{key}", cafile = "{ca}" }}
test_s2s_routes = {{ {routes} }}
VirtualHost "{domain}"
""".format(d=self.dir, log=self.log_path, addr=addr, c2s=self.c2s_port, s2s=self.s2s_port,
           cert=cert[0], key=cert[1], ca=ca, routes=route_lua, domain=domain))
        self.proc = None

    def register(self, user, password):
        r = subprocess.run(["prosodyctl", "--config", self.cfg, "register", user, self.domain, password],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise Failure("prosodyctl register: %s" % r.stdout.decode(errors="replace"))

    def start(self, timeout=15):
        self.logf = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(["prosody", "--config", self.cfg], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        for port in (self.c2s_port, self.s2s_port):
            while True:
                if self.proc.poll() is not None:
                    raise Failure("prosody exited during start:\n%s" % self.log_tail())
                try:
                    socket.create_connection((self.addr, port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise Failure("prosody did not start:\n%s" % self.log_tail())
                    time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, n=60):
        text = ""
        for p in (self.log_path, os.path.join(self.dir, "stdout.log")):
            try:
                with open(p, errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except OSError:
                pass
        return text


def method_lines(text, needle):
    return [ln.split(" info ", 1)[-1] for ln in text.splitlines() if needle in ln]


def run(binary, log=print):
    if shutil.which("prosody") is None:
        log("SKIP: prosody is not installed (apt-get install -y prosody)")
        return
    log("Prosody settings changed for loopback federation: a test module for "
        "static s2s routes (mod_test_s2s_routes: a.test -> 127.0.0.1), "
        "run_as_root, daemonize = false; for the test client only: "
        "c2s_require_encryption = false, allow_unencrypted_plain_auth = true")
    run_mode(binary, True, log)
    run_mode(binary, False, log)


def run_mode(binary, trusted, log):
    """trusted: both trust the private CA (SASL EXTERNAL); else neither
    trusts the other's certificate (TLS, then dialback)."""
    log("== %s ==" % ("certificates trusted on both sides" if trusted
                     else "certificates not trusted: dialback over TLS"))
    tmp = TempDir()
    certs = make_ca(tmp.path, [("a", "a.test"), ("p", "p.test")])
    ca = certs["ca"][0]
    trust_ours = 's2s_ca_file = "%s"\n' % ca if trusted else ""
    a = Instance(binary, tmp.path, "a.test", "127.0.0.1", cert=certs["a"],
                 server_extra='s2s_tls = "required"\n' + trust_ours
                              + 's2s_connect_timeout = 3\ns2s_handshake_timeout = 10\n')
    # Without the private CA, Prosody verifies against the system's
    # trust anchors (a CA file that does not know ours).
    p = Prosody(tmp.path, "127.0.0.3", "p.test", certs["p"],
                ca if trusted else "/etc/ssl/certs/ca-certificates.crt",
                [("a.test", a.addr, a.s2s_port)])
    a.routes.append(("p.test", p.addr, p.s2s_port))
    ok = False
    try:
        p.register("carol", "pw")
        a.start()
        p.start()
        alice = Client(a, "alice")
        carol = Client(p, "carol")
        for c in (alice, carol):
            c.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>")
            c.expect(lambda e: e.get("id") == "roster", STEP, "roster")
            c.send("<presence/>")
        log("alice@a.test (djabberd-actors) and carol@p.test (Prosody) connected")

        alice.send("<message to='%s' id='m1' type='chat'><body>hi carol</body></message>" % carol.full)
        m = carol.expect(lambda e: e.get("id") == "m1", STEP, "message from alice",
                         skip=("{jabber:client}presence",))
        if m.get("from") != alice.full:
            raise Failure("carol: wrong from %r" % m.get("from"))
        carol.send("<message to='%s' id='m2' type='chat'><body>hi alice</body></message>" % alice.full)
        m = alice.expect(lambda e: e.get("id") == "m2", STEP, "message from carol",
                         skip=("{jabber:client}presence",))
        if m.get("from") != carol.full:
            raise Failure("alice: wrong from %r" % m.get("from"))
        log("messages djabberd-actors -> Prosody and Prosody -> djabberd-actors")

        alice.send("<presence to='carol@p.test' type='subscribe'/>")
        collect(carol, {"subscribe": pres("alice@a.test", "subscribe")})
        carol.send("<presence to='alice@a.test' type='subscribed'/>")
        collect(alice, {"subscribed": pres("carol@p.test", "subscribed"),
                        "carol available": pres(carol.full)})
        carol.send("<presence to='alice@a.test' type='subscribe'/>")
        collect(alice, {"subscribe": pres("carol@p.test", "subscribe")})
        alice.send("<presence to='carol@p.test' type='subscribed'/>")
        collect(carol, {"subscribed": pres("alice@a.test", "subscribed"),
                        "alice available": pres(alice.full)})
        log("subscriptions both ways (alice -> carol, carol -> alice), presence after approval")

        method = "EXTERNAL" if trusted else "dialback"
        for line in ("s2s out a.test -> p.test: authenticated (%s, TLSv1" % method,
                     "s2s in a.test <- p.test: authenticated (%s, TLSv1" % method):
            if line not in a.log_text():
                raise Failure("expected the log line %r" % line)
            log("  djabberd-actors log: " + line + "...)")
        ok = True
    finally:
        a.stop()
        p.stop()
        if not ok:
            print("--- a.test log ---\n%s" % a.log_tail(60))
            print("--- prosody log ---\n%s" % p.log_tail(80))
        tmp.cleanup()
