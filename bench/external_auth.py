#!/usr/bin/python3
"""Logins against an `external` jsonl auth program that takes 50 ms per
call (tests/external/faults_jsonl.py with a delay), instances = 4,
concurrency = 8: N concurrent SASL PLAIN logins on ext.localhost should
take about N x 0.05 / 32 s, while a closed loop of logins on another vhost
(auth.static) keeps its rate. Prints the wave's duration and the other
vhost's login rate before and during the wave.

  bench/external_auth.py --server build/djabberd-actors [-n 1000]
                         [--delay-ms 50] [--instances 4] [--concurrency 8]
"""
import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "..", "tests", "external", "faults_jsonl.py")

CONFIG = """[server]
log_level = "warn"
data_dir  = "{dir}/data"

[limits]
max_connections_per_address = 0

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = {port}
starttls = "off"

[[vhost]]
domain = "ext.localhost"
default_plugins = false
  [[vhost.plugin]]
  type  = "external"
  command = ["{program}", "none", "{delay}"]
  instances = {instances}
  concurrency = {concurrency}
  call_timeout_ms = 20000
  timeout_ms = 30000

[[vhost]]
domain = "local.localhost"
default_plugins = false
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ bob = "pw" }}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def login(port, domain, user, password):
    """One SASL PLAIN login; True on <success/>."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(("<?xml version='1.0'?><stream:stream to='%s' "
                 "xmlns='jabber:client' xmlns:stream="
                 "'http://etherx.jabber.org/streams' version='1.0'>"
                 % domain).encode())
        buf = b""
        while b"</stream:features>" not in buf:
            chunk = await r.read(4096)
            if not chunk:
                return False
            buf += chunk
        cred = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        w.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                b"mechanism='PLAIN'>" + cred + b"</auth>")
        buf = b""
        while b"<success" not in buf and b"<failure" not in buf:
            chunk = await r.read(4096)
            if not chunk:
                return False
            buf += chunk
        return b"<success" in buf
    finally:
        w.close()


async def closed_loop(port, stop, counts):
    """Logins on local.localhost, one after another, until `stop`."""
    while not stop.is_set():
        ok = await login(port, "local.localhost", "bob", "pw")
        counts.append((time.monotonic(), ok))


async def run(args, port):
    stop = asyncio.Event()
    counts = []
    loops = [asyncio.ensure_future(closed_loop(port, stop, counts))
             for _ in range(4)]
    await asyncio.sleep(2.0)
    t0 = time.monotonic()
    results = await asyncio.gather(
        *[login(port, "ext.localhost", "alice", "pw") for _ in range(args.n)],
        return_exceptions=True)
    t1 = time.monotonic()
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*loops, return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    before = [c for c in counts if c[0] < t0]
    during = [c for c in counts if t0 <= c[0] <= t1]
    first = counts[0][0] if counts else t0
    rate_before = len(before) / max(t0 - first, 1e-9)
    rate_during = len(during) / max(t1 - t0, 1e-9)
    ideal = args.n * args.delay_ms / 1000.0 / (args.instances
                                                * args.concurrency)
    print("external jsonl auth: %d logins (%d ok), %d ms per call, "
          "instances %d, concurrency %d" % (args.n, ok, args.delay_ms,
                                            args.instances,
                                            args.concurrency))
    print("  wave took %.2f s (ideal %.2f s)" % (t1 - t0, ideal))
    print("  other vhost (auth.static, 4 closed loops): %.0f logins/s "
          "before, %.0f logins/s during the wave (%d failed)"
          % (rate_before, rate_during,
             sum(1 for c in counts if not c[1])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--delay-ms", type=int, default=50)
    ap.add_argument("--instances", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="external_auth.")
    port = free_port()
    conf = os.path.join(tmp, "server.toml")
    with open(conf, "w") as f:
        f.write(CONFIG.format(dir=tmp, port=port,
                              program=os.path.abspath(PROGRAM),
                              delay=args.delay_ms, instances=args.instances,
                              concurrency=args.concurrency))
    log = open(os.path.join(tmp, "server.log"), "w")
    srv = subprocess.Popen([args.server, "--config", conf], stdout=log,
                           stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or srv.poll() is not None:
                    sys.exit("server did not start; see " + log.name)
                time.sleep(0.1)
        asyncio.run(run(args, port))
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    main()
