#!/usr/bin/python3
"""Where a MUC occupant's memory goes: RSS per occupant, before and after malloc_trim.

Starts one djabberd-actors (plain c2s, auth.static with USERS users,
conference.localhost with --muc-plugin), logs USERS clients in with
dja-loadgen --mode muc (no senders), waits SETTLE s and reads the server's
RSS (logged in), lets them join ROOMS rooms (USERS / ROOMS occupants
each), waits SETTLE s and reads it again (joined). With --gdb it then
asks the live process for glibc's view: `malloc_stats()` (arena totals,
printed on the server's stderr, kept in the work dir) and `malloc_trim(0)`
(the RSS after it: what the allocator held free vs what is live).

KiB per occupant = (RSS joined - RSS logged in) / USERS, the figure of
bench/compare.sh's MUC memory phase (rooms of 200 there).

    /usr/bin/python3 bench/muc_memory.py --server build/djabberd-actors \
        --loadgen build/bench/dja-loadgen [--users 1000] [--rooms 5] [--gdb]

Loopback only; every wait bounded.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CONFIG = """[server]
log_level = "warn"
data_dir  = "{dir}/data"

[limits]
max_connections_per_address = 0
c2s_rate = 0

[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = {port}
starttls = "off"

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = {{ {users} }}

[[vhost]]
domain = "conference.localhost"
  [[vhost.plugin]]
  type = "{plugin}"
  max_users = {max_users}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_settled(pid, tries=10):
    """RSS once two reads 1 s apart agree within 1 %."""
    a = rss_kib(pid)
    for _ in range(tries):
        time.sleep(1)
        b = rss_kib(pid)
        if abs(b - a) <= a / 100:
            return b
        a = b
    return a


def wait_line(path, prefix, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split()
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def gdb_call(pid, expr):
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "call " + expr],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return r.stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--rooms", type=int, default=5)
    ap.add_argument("--settle", type=float, default=6)
    ap.add_argument("--muc-plugin", default="muc.memory")
    ap.add_argument("--gdb", action="store_true", help="malloc_stats and malloc_trim in the live server")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dja-mucmem-")
    port = free_port()
    users = ", ".join('user%d = "pw"' % i for i in range(1, args.users + 1))
    cfg = os.path.join(work, "server.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(dir=work, port=port, users=users, plugin=args.muc_plugin,
                              max_users=args.users // args.rooms + 10))
    env = dict(os.environ)
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    errf = open(os.path.join(work, "server.err"), "w")
    server = subprocess.Popen([os.path.abspath(args.server), "--config", cfg],
                              stdout=errf, stderr=errf, env=env)
    lg = None
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
        lgerr = os.path.join(work, "lg.err")
        lg = subprocess.Popen([os.path.abspath(args.loadgen), "--json", "--mode", "muc",
                               "--port", str(port), "--users", str(args.users), "--rooms",
                               str(args.rooms), "--senders", "0", "--user-pattern", "user%d",
                               "--password", "pw", "--first", "1",
                               "--join-delay", str(args.settle + 12), "--hold", "600",
                               "--timeout", "800"],
                              stdout=subprocess.DEVNULL, stderr=open(lgerr, "w"))
        out = {"users": args.users, "rooms": args.rooms, "plugin": args.muc_plugin,
               "env": args.env}
        out["rss_start_kib"] = rss_kib(server.pid)
        if not wait_line(lgerr, "LOGGED", lg, 240):
            raise SystemExit("no LOGGED line")
        time.sleep(args.settle)
        out["rss_logged_kib"] = rss_settled(server.pid)
        ready = wait_line(lgerr, "READY", lg, 600)
        if not ready:
            raise SystemExit("no READY line")
        out["joined"] = int(ready[1])
        time.sleep(args.settle)
        out["rss_joined_kib"] = rss_settled(server.pid)
        out["kib_per_occupant"] = round((out["rss_joined_kib"] - out["rss_logged_kib"])
                                        / args.users, 2)
        if args.gdb:
            gdb_call(server.pid, "(void)malloc_stats()")
            out["rss_after_trim_kib"] = rss_settled(server.pid)
            gdb_call(server.pid, "(int)malloc_trim(0)")
            out["rss_after_trim_kib"] = rss_settled(server.pid)
            out["kib_per_occupant_after_trim"] = round(
                (out["rss_after_trim_kib"] - out["rss_logged_kib"]) / args.users, 2)
            errf.flush()
            with open(os.path.join(work, "server.err"), errors="replace") as f:
                stats = [l.strip() for l in f if "bytes" in l or "Arena" in l]
            out["malloc_stats_total"] = stats[-3:]
        print(json.dumps(out), flush=True)
        return 0
    finally:
        if lg and lg.poll() is None:
            lg.send_signal(signal.SIGTERM)
            try:
                lg.wait(60)
            except subprocess.TimeoutExpired:
                lg.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept " + work, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
