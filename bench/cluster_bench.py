#!/usr/bin/python3
"""Cluster benchmark: the same message load against 1, 2 and 3 nodes.

For each cluster size N it starts N djabberd-actors nodes on loopback (a
private CA made with the openssl CLI, mutual TLS between nodes, as in
tests/e2e/cluster_lib.py), logs in USERS clients with dja-loadgen spread
round-robin over the nodes' c2s ports (`--ports`: the two clients of each
pair sit on different nodes when N > 1, so every message crosses nodes),
and runs the pairs workload. Reported per N:

- messages/s and latency p50/p99 (dja-loadgen);
- CPU seconds of all nodes per 100k messages (utime+stime from /proc);
- memory per connection per node: RSS growth of each node while USERS
  idle connections are logged in, divided by the connections it holds.

    /usr/bin/python3 bench/cluster_bench.py --server build/djabberd-actors \
        --loadgen build/bench/dja-loadgen [--users 200] [--duration 10] [--rate 0]

Prints one line per N and a Markdown table at the end. Loopback only,
every run bounded (dja-loadgen --timeout).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import cluster_lib as cl  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def loadgen(args, ports, mode, extra):
    cmd = [args.loadgen, "--json", "--mode", mode, "--users", str(args.users),
           "--ports", ",".join(str(p) for p in ports), "--port", str(ports[0]),
           "--user-pattern", "user%d", "--password", "pw", "--timeout", "120"] + extra
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=150)
    if r.returncode != 0:
        raise cl.TestFailure("dja-loadgen failed (%d): %s" % (r.returncode, r.stderr.decode()[-500:]))
    return json.loads(r.stdout.decode())


def run_size(args, n, work):
    ca = cl.make_ca(work, "ca")
    shared = os.path.join(work, "shared")
    os.makedirs(shared, exist_ok=True)
    users = ["user%d" % i for i in range(1, args.users + 1)]
    nodes = [cl.Node(args.server, work, "n%d" % i, users, ca[0],
                     cl.make_cert(work, ca, "n%d" % i), shared, log_level="warn")
             for i in range(1, n + 1)]
    for x in nodes:
        x.peers = [y.cluster_addr for y in nodes if y is not x]
    try:
        for x in nodes:
            x.start()
        if n > 1:
            cl.wait_cluster(nodes, 30)
        ports = [x.c2s_port for x in nodes]
        # Memory: idle connections held for a few seconds.
        before = [rss_kib(x.proc.pid) for x in nodes]
        idle = subprocess.Popen(
            [args.loadgen, "--json", "--mode", "idle", "--users", str(args.users),
             "--ports", ",".join(map(str, ports)), "--port", str(ports[0]),
             "--hold", "4", "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3)
        during = [rss_kib(x.proc.pid) for x in nodes]
        idle.communicate(timeout=90)
        per_node = args.users / n
        mem = [(d - b) * 1024 / per_node for b, d in zip(before, during)]
        time.sleep(1)
        cpu0 = sum(cpu_seconds(x.proc.pid) for x in nodes)
        extra = ["--duration", str(args.duration), "--warmup", "1"]
        if args.rate:
            extra += ["--rate", str(args.rate)]
        res = loadgen(args, ports, "pairs", extra)
        cpu = sum(cpu_seconds(x.proc.pid) for x in nodes) - cpu0
        msgs = max(1, res.get("messages_received", 0))
        return {
            "nodes": n,
            "msgs_per_s": res.get("messages_per_sec"),
            "p50_ms": res.get("latency_ms_p50"),
            "p99_ms": res.get("latency_ms_p99"),
            "cpu_s_per_100k": round(cpu * 100000 / msgs, 2),
            "bytes_per_conn_per_node": [int(m) for m in mem],
            "errors": res.get("logins_failed", 0),
        }
    finally:
        for x in nodes:
            x.kill(signal.SIGTERM)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rate", type=float, default=0, help="messages/s in all (0: closed loop)")
    ap.add_argument("--sizes", default="1,2,3")
    args = ap.parse_args()
    args.server = os.path.abspath(args.server)
    args.loadgen = os.path.abspath(args.loadgen)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        work = tempfile.mkdtemp(prefix="dja-clbench-")
        try:
            row = run_size(args, n, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| nodes | msgs/s | p50 ms | p99 ms | CPU s / 100k msgs | bytes/conn per node |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %s | %s | %s | %s | %s |" % (r["nodes"], r["msgs_per_s"], r["p50_ms"], r["p99_ms"],
                                                r["cpu_s_per_100k"],
                                                ", ".join(str(b) for b in r["bytes_per_conn_per_node"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
