#!/usr/bin/python3
"""Cluster benchmark: the same message load against 1, 2 and 3 nodes.

For each cluster size N it starts N djabberd-actors nodes on loopback (a
private CA made with the openssl CLI, mutual TLS between nodes, as in
tests/e2e/cluster_lib.py) and spreads dja-loadgen's clients round-robin
over the nodes' c2s ports (`--ports`: client i on node i % N, so the two
clients of a pair sit on different nodes when N > 1 and every message
crosses nodes). The loads are those of bench/compare.sh:

- throughput: USERS clients in pairs, closed loop, 10 in flight per
  sender, DURATION s: messages/s, and CPU seconds (utime+stime of all
  nodes over the run, warm-up included) per 100,000 messages delivered;
- latency: the same clients at RATE messages/s in all (open loop):
  one-way p50/p99;
- memory (fresh nodes): IDLE then 2*IDLE idle authenticated connections
  (two dja-loadgen processes), VmRSS of every node after each batch has
  settled; bytes per connection per node = RSS growth of the node over
  the second batch / the connections of that batch it holds. The growth
  includes the node's copy of the session directory entries of the
  connections held by the *other* nodes; the cluster-wide figure (all
  nodes' growth / connections) is printed too.

Throughput and latency run REPEAT times on the same nodes and the best
figure of each is kept (the machine may be shared; other work only ever
makes a figure worse).

    /usr/bin/python3 bench/cluster_bench.py --server build/djabberd-actors \
        --loadgen build/bench/dja-loadgen [--sizes 1,2,3] [--repeat 3]

Prints one JSON line per run and a Markdown table at the end. Loopback
only; every run is bounded (dja-loadgen --timeout, subprocess timeouts,
and --limit for the whole benchmark).
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
SETTLE = 4  # s after an idle batch: parsers of idle streams hibernate after 2 s


def log(*a):
    print(*a, file=sys.stderr, flush=True)


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


def lg_cmd(args, ports, mode, users, pattern, first=1):
    return [args.loadgen, "--json", "--mode", mode, "--users", str(users),
            "--ports", ",".join(str(p) for p in ports), "--port", str(ports[0]),
            "--user-pattern", pattern, "--first", str(first), "--password", "pw"]


def pairs(args, ports, extra):
    cmd = lg_cmd(args, ports, "pairs", args.users, "user%d") + [
        "--duration", str(args.duration), "--warmup", "1", "--timeout", "60"] + extra
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    try:
        res = json.loads(r.stdout.decode())
    except ValueError:
        raise cl.TestFailure("dja-loadgen gave no report (%d): %s" % (r.returncode, r.stderr.decode()[-500:]))
    if res.get("errors") or res.get("messages_lost") or res.get("timed_out"):
        log("dja-loadgen reported problems: %s" % r.stderr.decode()[-500:])
    return res


def start_nodes(args, n, work, users):
    ca = cl.make_ca(work, "ca")
    shared = os.path.join(work, "shared")
    os.makedirs(shared, exist_ok=True)
    nodes = [cl.Node(args.server, work, "n%d" % i, users, ca[0],
                     cl.make_cert(work, ca, "n%d" % i), shared, log_level="warn")
             for i in range(1, n + 1)]
    for x in nodes:
        x.peers = [y.cluster_addr for y in nodes if y is not x]
    for x in nodes:
        x.start()
    if n > 1:
        cl.wait_cluster(nodes, 30)
    return nodes


def stop_nodes(nodes):
    for x in nodes:
        x.kill(signal.SIGTERM)


def traffic(args, n, work):
    users = ["user%d" % i for i in range(1, args.users + 1)]
    nodes = start_nodes(args, n, work, users)
    ports = [x.c2s_port for x in nodes]
    runs = []
    try:
        for rep in range(args.repeat):
            time.sleep(1)
            cpu0 = sum(cpu_seconds(x.proc.pid) for x in nodes)
            tp = pairs(args, ports, ["--rate", "0", "--inflight", "10"])
            cpu = sum(cpu_seconds(x.proc.pid) for x in nodes) - cpu0
            time.sleep(1)
            lat = pairs(args, ports, ["--rate", str(args.rate)])
            run = {
                "nodes": n, "rep": rep + 1,
                "msgs_per_s": round(tp.get("messages_per_sec", 0)),
                "cpu_s": round(cpu, 2),
                "cpu_s_per_100k": round(cpu * 100000 / max(1, tp.get("messages_received", 0)), 2),
                "tp_p99_ms": tp.get("latency_ms_p99"),
                "tp_errors": tp.get("errors", 0) + tp.get("messages_lost", 0),
                "rate": args.rate, "rate_msgs_per_s": round(lat.get("messages_per_sec", 0)),
                "p50_ms": lat.get("latency_ms_p50"), "p99_ms": lat.get("latency_ms_p99"),
                "lat_errors": lat.get("errors", 0) + lat.get("messages_lost", 0),
                "loadgen_cpu_pct": tp.get("cpu_pct_measured"),
            }
            print(json.dumps(run), flush=True)
            runs.append(run)
    finally:
        stop_nodes(nodes)
    return runs


def idle_batch(args, ports, first):
    """Starts IDLE idle clients; returns the process once READY (all logged in)."""
    cmd = lg_cmd(args, ports, "idle", args.idle, "idle%d", first) + ["--hold", "120", "--timeout", "150"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    os.set_blocking(p.stderr.fileno(), False)
    buf = b""
    while time.monotonic() < deadline:
        chunk = p.stderr.read()
        if chunk:
            buf += chunk
        for line in buf.splitlines():
            if line.startswith(b"READY"):
                n = int(line.split()[1])
                if n != args.idle:
                    raise cl.TestFailure("only %d of %d idle clients logged in" % (n, args.idle))
                return p
        if p.poll() is not None:
            raise cl.TestFailure("idle dja-loadgen ended before READY: %s" % buf.decode()[-300:])
        time.sleep(0.2)
    p.kill()
    raise cl.TestFailure("no READY from idle dja-loadgen in 60 s")


def memory(args, n, work):
    users = ["idle%d" % i for i in range(1, 2 * args.idle + 1)]
    nodes = start_nodes(args, n, work, users)
    ports = [x.c2s_port for x in nodes]
    procs = []
    try:
        time.sleep(1)
        rss0 = [rss_kib(x.proc.pid) for x in nodes]
        procs.append(idle_batch(args, ports, 1))
        time.sleep(SETTLE)
        rss1 = [rss_kib(x.proc.pid) for x in nodes]
        procs.append(idle_batch(args, ports, args.idle + 1))
        time.sleep(SETTLE)
        rss2 = [rss_kib(x.proc.pid) for x in nodes]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
        stop_nodes(nodes)
    # Connections idle{args.idle+1 ..} of the second batch: index i -> node i % n.
    local = [sum(1 for i in range(args.idle) if i % n == k) for k in range(n)]
    per_node = [round((b - a) * 1024 / max(1, c)) for a, b, c in zip(rss1, rss2, local)]
    row = {"nodes": n, "idle": args.idle, "rss0_kib": rss0, "rss1_kib": rss1, "rss2_kib": rss2,
           "bytes_per_conn_per_node": per_node,
           "bytes_per_conn_cluster": round((sum(rss2) - sum(rss1)) * 1024 / args.idle)}
    print(json.dumps(row), flush=True)
    return row


def best(runs, key, high):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return (max if high else min)(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--users", type=int, default=200, help="pair clients (even)")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rate", type=float, default=2000, help="latency run: messages/s in all")
    ap.add_argument("--idle", type=int, default=1500, help="idle connections per memory batch")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="1,2,3")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--limit", type=int, default=1200, help="hard limit for the whole run, s")
    args = ap.parse_args()
    args.server = os.path.abspath(args.server)
    args.loadgen = os.path.abspath(args.loadgen)

    def on_alarm(_s, _f):
        raise cl.TestFailure("hard time limit of %d s reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    table = []
    for n in [int(s) for s in args.sizes.split(",")]:
        work = tempfile.mkdtemp(prefix="dja-clbench-")
        try:
            log("%d node(s): traffic, %d runs" % (n, args.repeat))
            runs = traffic(args, n, work)
            mem = None
            if not args.no_memory:
                log("%d node(s): memory, %d + %d idle connections" % (n, args.idle, args.idle))
                mem_dir = os.path.join(work, "mem")
                os.makedirs(mem_dir)
                mem = memory(args, n, mem_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        table.append((n, runs, mem))
    signal.alarm(0)
    print("\n| nodes | msgs/s | CPU s / 100k msgs | p50 ms @%g/s | p99 ms @%g/s | bytes/conn per node | bytes/conn, cluster |"
          % (args.rate, args.rate))
    print("|---:|---:|---:|---:|---:|---|---:|")
    for n, runs, mem in table:
        print("| %d | %s | %s | %s | %s | %s | %s |" % (
            n, "{:,}".format(best(runs, "msgs_per_s", True)), best(runs, "cpu_s_per_100k", False),
            best(runs, "p50_ms", False), best(runs, "p99_ms", False),
            ", ".join("{:,}".format(b) for b in mem["bytes_per_conn_per_node"]) if mem else "-",
            "{:,}".format(mem["bytes_per_conn_cluster"]) if mem else "-"))
    errs = sum(r["tp_errors"] + r["lat_errors"] for _, runs, _ in table for r in runs)
    print("\nbest of %d runs per figure; errors + lost messages over all runs: %d" % (args.repeat, errs))
    return 0 if errs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
