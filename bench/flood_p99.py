#!/usr/bin/python3
"""A flood from one client never slows the others (issue 18 part 1): the
p99 one-way latency of other users' messages (dja-loadgen --mode pairs,
open loop) without a flood, while one client floods at the read
shaper's rate (limits.c2s_rate), and while it floods as fast as its
socket takes (above the shaper: the server reads it later), and the same
flood with the shaper off (c2s_rate = 0) for comparison.

    /usr/bin/python3 bench/flood_p99.py [--server build/djabberd-actors]
        [--loadgen build/bench/dja-loadgen] [--users 100] [--rate 1000]
        [--duration 10] [--size 1024]

The flooder sends chat messages of --size bytes to a sink client that
reads everything. Prints one line per run; figures go to
bench/RESULTS.md. Loopback only; every wait bounded.
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memory_wave import REPO, start_server, stop_server  # noqa: E402

HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' "
          "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
          "streams' version='1.0'>")


def login(port, user):
    """A raw c2s stream logged in and bound (PLAIN on plain TCP)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    buf = b""

    def wait_for(marker):
        nonlocal buf
        while marker not in buf:
            data = s.recv(65536)
            if not data:
                raise OSError("%s: stream closed while waiting for %r"
                              % (user, marker))
            buf += data
        buf = b""
    s.sendall(HEADER.encode())
    wait_for(b"</stream:features>")
    plain = base64.b64encode(("\0%s\0pw" % user).encode()).decode()
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism="
               "'PLAIN'>%s</auth>" % plain).encode())
    wait_for(b"<success")
    s.sendall(HEADER.encode())
    wait_for(b"</stream:features>")
    s.sendall(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:"
              b"xmpp-bind'><resource>r</resource></bind></iq>")
    wait_for(b"</iq>")
    s.sendall(b"<presence/>")
    return s


class Flood:
    """`flooder` sends to `sink` at `rate` bytes/s (0: as fast as the
    socket takes) until stop(); the sink reads everything."""

    def __init__(self, port, flooder, sink, rate, size):
        self.src = login(port, flooder)
        self.dst = login(port, sink)
        self.rate, self.stopped, self.sent = rate, False, 0
        self.msg = ("<message type='chat' to='%s@localhost'><body>%s</body>"
                    "</message>" % (sink, "f" * size)).encode()
        self.threads = [threading.Thread(target=self.send, daemon=True),
                        threading.Thread(target=self.sink, daemon=True)]
        for t in self.threads:
            t.start()

    def send(self):
        t0 = time.monotonic()
        self.src.settimeout(1.0)
        while not self.stopped:
            if self.rate:
                ahead = self.sent / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(min(ahead, 0.1))
                    continue
            try:
                self.src.sendall(self.msg)
                self.sent += len(self.msg)
            except socket.timeout:
                continue
            except OSError:
                return

    def sink(self):
        self.dst.settimeout(1.0)
        while not self.stopped:
            try:
                if not self.dst.recv(1 << 20):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self.stopped = True
        for t in self.threads:
            t.join(5)
        for s in (self.src, self.dst):
            s.close()


def pairs(args, port):
    cmd = [args.loadgen, "--port", str(port), "--domain", "localhost",
           "--user-pattern", "user%d", "--password", "pw",
           "--users", str(args.users), "--mode", "pairs",
           "--rate", str(args.rate), "--duration", str(args.duration),
           "--timeout", "120", "--json"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=180)
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(REPO, "build",
                                                     "djabberd-actors"))
    ap.add_argument("--loadgen", default=os.path.join(REPO, "build", "bench",
                                                      "dja-loadgen"))
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    shaper = 10 * 1024
    runs = [("no flood", "c2s_rate = %d" % shaper, None),
            ("flood at the shaper's rate (10 KiB/s)", "c2s_rate = %d" % shaper,
             shaper),
            ("flood as fast as the socket takes (shaper on)",
             "c2s_rate = %d" % shaper, 0),
            ("flood as fast as the socket takes (shaper off)", "c2s_rate = 0",
             0)]
    for label, limits, rate in runs:
        proc, port, tmp = start_server(args.server, args.users + 2,
                                       limits=limits)
        flood = None
        try:
            if rate is not None:
                flood = Flood(port, "user%d" % (args.users + 1),
                              "user%d" % (args.users + 2), rate, args.size)
                time.sleep(1.0)
            t0 = time.monotonic()
            r = pairs(args, port)
            wall = time.monotonic() - t0
            flooded = flood.sent if flood else 0
            print("%-48s p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  "
                  "delivered %d/s  lost %d  errors %d  flood %.0f KiB/s sent"
                  % (label, r["latency_ms_p50"], r["latency_ms_p99"],
                     r["latency_ms_max"], r["messages_per_sec"],
                     r["messages_lost"], r["errors"],
                     flooded / 1024 / (wall + 1.0)), flush=True)
        finally:
            if flood:
                flood.stop()
            stop_server(proc, tmp)


if __name__ == "__main__":
    main()
