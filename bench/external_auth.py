#!/usr/bin/python3
"""Logins against an `external` jsonl auth program that takes 50 ms per
call (tests/external/faults_jsonl.py with a delay), instances = 4,
concurrency = 8: N concurrent SASL PLAIN logins on ext.localhost should
take about N x 0.05 / 32 s, while closed loops of logins on another vhost
(auth.static, in a process of their own) keep their rate. For
comparison, the same wave against a vhost with auth.static (what N
concurrent logins cost without a program). Prints each wave's duration
and the other vhost's login rate before and during it.

  bench/external_auth.py --server build/djabberd-actors [-n 1000]
                         [--delay-ms 50] [--instances 4] [--concurrency 8]
"""
import argparse
import asyncio
import base64
import multiprocessing
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
domain = "static.localhost"
default_plugins = false
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ alice = "pw" }}

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


async def closed_loop(port, stop, out):
    """Logins on local.localhost, one after another, until `stop`."""
    while not stop.is_set():
        ok = await login(port, "local.localhost", "bob", "pw")
        out.append((time.monotonic(), ok))


def loops_process(port, seconds, conn):
    """4 closed loops for `seconds`, in a process of their own (so the
    wave's client does not slow them); sends back (time, ok) pairs."""
    async def go():
        stop = asyncio.Event()
        out = []
        tasks = [asyncio.ensure_future(closed_loop(port, stop, out))
                 for _ in range(4)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return out
    conn.send(asyncio.run(go()))


async def wave(port, domain, n):
    t0 = time.monotonic()
    results = await asyncio.gather(
        *[login(port, domain, "alice", "pw") for _ in range(n)],
        return_exceptions=True)
    return t0, time.monotonic(), sum(1 for r in results if r is True)


def rate(counts, a, b):
    return len([c for c in counts if a <= c[0] <= b]) / max(b - a, 1e-9)


def measure(args, port, domain):
    parent, child = multiprocessing.Pipe()
    loops = multiprocessing.Process(target=loops_process,
                                    args=(port, 6.0, child))
    loops.start()
    time.sleep(2.0)
    t0, t1, ok = asyncio.run(wave(port, domain, args.n))
    counts = parent.recv()
    loops.join()
    base = [c for c in counts if c[0] < t0]
    start = base[0][0] if base else t0
    return {"took": t1 - t0, "ok": ok, "before": rate(counts, start, t0),
            "during": rate(counts, t0, t1),
            "failed": sum(1 for c in counts if not c[1])}


def run(args, port):
    ideal = args.n * args.delay_ms / 1000.0 / (args.instances
                                                * args.concurrency)
    print("%d concurrent logins per wave; the other vhost: 4 closed loops "
          "of logins (auth.static)" % args.n)
    for domain, what in (("static.localhost", "auth.static"),
                         ("ext.localhost",
                          "external jsonl, %d ms per call, instances %d, "
                          "concurrency %d (ideal %.2f s)"
                          % (args.delay_ms, args.instances,
                             args.concurrency, ideal))):
        r = measure(args, port, domain)
        print("  %s: wave %.2f s (%d ok); other vhost %.0f logins/s "
              "before, %.0f during (%d failed)"
              % (what, r["took"], r["ok"], r["before"], r["during"],
                 r["failed"]))


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
        run(args, port)
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    main()
