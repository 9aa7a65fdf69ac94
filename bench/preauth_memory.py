#!/usr/bin/python3
"""Memory held by strangers: N connections that never log in, each sending
a stream header and a 43 KB stanza of 11,000 empty children (left open),
against a private server; prints the server's RSS before, while they are
held and after they closed. Run it with the pre-authentication limit at
its default and at the full stanza size to compare:

  bench/preauth_memory.py --server build/djabberd-actors [-n 2000]
                          [--preauth BYTES]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

CONFIG = """[server]
log_level = "warn"
data_dir  = "{dir}/data"
negotiation_timeout = 120

[limits]
max_connections_per_address = 0
{preauth}

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = {port}
starttls = "off"

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ alice = "pw" }}
"""

HEADER = (b"<?xml version='1.0'?><stream:stream to='localhost' "
          b"xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
FLOOD = b"<message>" + b"<a/>" * 11000  # 43 KB, never closed


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--preauth", type=int, default=0,
                    help="limits.preauth_stanza_size (0: the default)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dja-preauth-")
    port = free_port()
    preauth = ("preauth_stanza_size = %d" % a.preauth) if a.preauth else ""
    with open(os.path.join(tmp, "server.toml"), "w") as f:
        f.write(CONFIG.format(dir=tmp, port=port, preauth=preauth))
    log = open(os.path.join(tmp, "server.log"), "w")
    srv = subprocess.Popen([a.server, "--config",
                            os.path.join(tmp, "server.toml")],
                           stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("server did not start")
                time.sleep(0.1)
        time.sleep(0.5)
        base = rss_kib(srv.pid)
        socks = []
        for _ in range(a.n):
            s = socket.create_connection(("127.0.0.1", port), 10)
            s.settimeout(10)
            try:
                s.sendall(HEADER + FLOOD)
            except OSError:
                pass  # refused early: that is the point
            socks.append(s)
        time.sleep(3)
        held = rss_kib(srv.pid)
        for s in socks:
            s.close()
        time.sleep(3)
        after = rss_kib(srv.pid)
        print("connections %d, preauth limit %s: RSS %d KiB at rest, %d KiB "
              "held (%.1f KiB per connection), %d KiB after they closed"
              % (a.n, a.preauth or "default", base, held,
                 (held - base) / a.n, after))
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    main()
