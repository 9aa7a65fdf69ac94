#!/usr/bin/python3
"""Memory of a wave of connections: the server's RSS before, with N idle
authenticated connections, and after they all closed (at once and after
--settle seconds: the server returns memory on a timer, see
actors/server/memory_trim.cpp). Also the cost per idle connection.

    /usr/bin/python3 bench/memory_wave.py [--server build/djabberd-actors]
        [--loadgen build/bench/dja-loadgen] [--users 2000] [--tls]
        [--waves 1] [--settle 15]

Plain c2s (SASL PLAIN) or, with --tls, STARTTLS then PLAIN inside TLS
(a certificate made with tools/make-cert.sh). Prints one line per figure
in KiB / MB; loopback only; every wait bounded.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """[server]
log_level = "warn"
data_dir  = "{dir}/data"
auth_fail_limit = 1000000

[limits]
max_connections_per_address = 0
{limits}

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = {port}
starttls = "{starttls}"

[[vhost]]
domain = "localhost"
{tls}  [[vhost.plugin]]
  type = "ping"
  [[vhost.plugin]]
  type = "auth.static"
  [vhost.plugin.users]
{users}
"""


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])  # KiB
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(binary, users, tls=False, limits="c2s_rate = 0"):
    """A fresh server on a free port in a temporary directory, with
    auth.static users user1..userN (password "pw"): (process, port, dir).
    `limits`: lines for [limits] (default: no read shaper)."""
    tmp = tempfile.mkdtemp(prefix="dja-bench-")
    os.mkdir(os.path.join(tmp, "data"))
    tls_lines = ""
    if tls:
        crt, key = os.path.join(tmp, "c.crt"), os.path.join(tmp, "c.key")
        subprocess.run([os.path.join(REPO, "tools", "make-cert.sh"),
                        "localhost", crt, key], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
        tls_lines = 'tls_cert = "%s"\ntls_key = "%s"\n' % (crt, key)
    port = free_port()
    names = "\n".join('  user%d = "pw"' % i for i in range(1, users + 1))
    cfg = os.path.join(tmp, "server.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(dir=tmp, port=port, tls=tls_lines, users=names,
                              starttls="optional" if tls else "off",
                              limits=limits))
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([binary, "--config", cfg], cwd=tmp, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return proc, port, tmp
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit("the server did not start (log: %s)"
                         % os.path.join(tmp, "server.log"))
            time.sleep(0.05)


def stop_server(proc, tmp):
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(REPO, "build",
                                                     "djabberd-actors"))
    ap.add_argument("--loadgen", default=os.path.join(REPO, "build", "bench",
                                                      "dja-loadgen"))
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--waves", type=int, default=1)
    ap.add_argument("--settle", type=float, default=15.0)
    ap.add_argument("--trim-held", action="store_true",
                    help="also the RSS with the connections after gdb "
                    "makes the server call malloc_trim(0): what is live, "
                    "without the allocator's free pages")
    args = ap.parse_args()
    proc, port, tmp = start_server(args.server, args.users, args.tls)
    try:
        time.sleep(1.0)
        start = rss(proc.pid)
        print("start: %d KiB" % start)
        for w in range(args.waves):
            cmd = [args.loadgen, "--port", str(port), "--domain", "localhost",
                   "--user-pattern", "user%d", "--password", "pw",
                   "--users", str(args.users), "--mode", "idle",
                   "--hold", "600", "--timeout", "300"]
            if args.tls:
                cmd.append("--tls")
            lg = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            ready = None
            for line in lg.stderr:
                if line.startswith("READY"):
                    ready = int(line.split()[1])
                    break
            time.sleep(2.0)  # hibernation (2 s) of the last logins
            held = rss(proc.pid)
            if args.trim_held:
                subprocess.run(["gdb", "-p", str(proc.pid), "-batch", "-ex",
                                "call (int) malloc_trim(0)"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=120)
                live = rss(proc.pid)
                print("wave %d: with the connections after malloc_trim: %d "
                      "KiB (%.1f KiB each over the start)"
                      % (w + 1, live, (live - start) / max(ready or 1, 1)))
            lg.terminate()
            lg.wait(60)
            time.sleep(1.0)
            closed = rss(proc.pid)
            time.sleep(args.settle)
            settled = rss(proc.pid)
            print("wave %d: %s connections: %d KiB (%.1f KiB each over the "
                  "start); closed: %d KiB after 1 s, %d KiB after %.0f s more"
                  % (w + 1, ready, held, (held - start) / max(ready or 1, 1),
                     closed, settled, args.settle))
    finally:
        stop_server(proc, tmp)


if __name__ == "__main__":
    main()
