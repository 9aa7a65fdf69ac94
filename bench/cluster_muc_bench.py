#!/usr/bin/python3
"""MUC on a cluster: one room of OCCUPANTS spread over N nodes, every copy counted.

Starts N djabberd-actors nodes on loopback (private CA, mutual TLS, as
tests/e2e/cluster_lib.py) serving localhost and conference.localhost
(`--muc-plugin`, default muc.memory; max_users raised to fit the room),
then runs `dja-loadgen --mode muc` with `--ports` over the nodes' c2s
ports: client i connects to node i % N, so a third of the occupants sit
on each node of three. The room runs on one node (its home, rendezvous
hash of the room over the nodes: docs/cluster.md "Group chat"); joins and
messages from the other nodes hop to it and every copy it sends to an
occupant elsewhere hops back. dja-loadgen counts, per occupant, every
message it should get (sent after it joined) against what it got:
deliveries_missing must be 0 and deliveries_extra 0.

    /usr/bin/python3 bench/cluster_muc_bench.py --server build/djabberd-actors \
        --loadgen build/bench/dja-loadgen [--nodes 3] [--occupants 1000] \
        [--senders 10] [--duration 10] [--inflight 2]

Prints the dja-loadgen report (JSON) with the nodes' CPU seconds and RSS,
and one summary line; exits 1 when a copy is missing or extra. Loopback
only; every step bounded (--limit for the whole run).
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

MUC_VHOST = """
[[vhost]]
domain = "conference.localhost"
  [[vhost.plugin]]
  type = "{plugin}"
  max_users = {max_users}
{extra}
"""


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


class MucNode(cl.Node):
    def __init__(self, *a, muc=None, **k):
        super().__init__(*a, **k)
        self.muc = muc

    def write_config(self):
        super().write_config()
        with open(self.config) as f:
            text = f.read()
        text = text.replace("[cluster]", self.muc + "\n[cluster]", 1)
        with open(self.config, "w") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--occupants", type=int, default=1000)
    ap.add_argument("--senders", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--inflight", type=int, default=2)
    ap.add_argument("--drain", type=float, default=60)
    ap.add_argument("--join-concurrency", type=int, default=20)
    ap.add_argument("--muc-plugin", default="muc.memory")
    ap.add_argument("--muc-extra", default="", help="TOML lines added to the MUC plugin")
    ap.add_argument("--limit", type=int, default=1500, help="hard limit for the whole run, s")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    server = os.path.abspath(args.server)
    loadgen = os.path.abspath(args.loadgen)

    def on_alarm(_s, _f):
        raise cl.TestFailure("hard time limit of %d s reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    work = tempfile.mkdtemp(prefix="dja-clmuc-")
    nodes = []
    try:
        ca = cl.make_ca(work, "ca")
        shared = os.path.join(work, "shared")
        os.makedirs(shared)
        users = ["user%d" % i for i in range(1, args.occupants + 1)]
        muc = MUC_VHOST.format(plugin=args.muc_plugin, max_users=args.occupants + 10,
                               extra=args.muc_extra)
        nodes = [MucNode(server, work, "n%d" % i, users, ca[0], cl.make_cert(work, ca, "n%d" % i),
                         shared, log_level="warn", muc=muc)
                 for i in range(1, args.nodes + 1)]
        for x in nodes:
            x.peers = [y.cluster_addr for y in nodes if y is not x]
        for x in nodes:
            x.start()
        if len(nodes) > 1:
            cl.wait_cluster(nodes, 30)
        ports = [x.c2s_port for x in nodes]
        time.sleep(1)
        cpu0 = [cpu_seconds(x.proc.pid) for x in nodes]
        rss0 = [rss_kib(x.proc.pid) for x in nodes]
        cmd = [loadgen, "--json", "--mode", "muc", "--users", str(args.occupants),
               "--ports", ",".join(str(p) for p in ports), "--port", str(ports[0]),
               "--user-pattern", "user%d", "--first", "1", "--password", "pw",
               "--rooms", "1", "--senders", str(args.senders), "--duration", str(args.duration),
               "--inflight", str(args.inflight), "--drain", str(args.drain),
               "--join-concurrency", str(args.join_concurrency),
               "--timeout", str(max(60, args.limit - 120))]
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=max(90, args.limit - 60))
        wall = time.monotonic() - t0
        try:
            res = json.loads(r.stdout.decode())
        except ValueError:
            raise cl.TestFailure("dja-loadgen gave no report (%d): %s"
                                 % (r.returncode, r.stderr.decode()[-800:]))
        cpu = [round(cpu_seconds(x.proc.pid) - c, 2) for x, c in zip(nodes, cpu0)]
        rss = [rss_kib(x.proc.pid) for x in nodes]
        for x in nodes:
            if x.proc.poll() is not None:
                raise cl.TestFailure("node %s exited during the run" % x.name)
        res.update({"nodes": args.nodes, "node_cpu_s": cpu, "node_rss_kib_before": rss0,
                    "node_rss_kib_after": rss, "bench_wall_s": round(wall, 1)})
        print(json.dumps(res), flush=True)
        ok = (res.get("occupants_joined") == args.occupants and res.get("deliveries_missing") == 0
              and res.get("deliveries_extra") == 0 and res.get("deliveries_expected", 0) > 0
              and res.get("deliveries_received") == res.get("deliveries_expected"))
        print("%d nodes, %d of %d occupants joined (%.1f joins/s), %d messages sent, deliveries "
              "%d expected / %d received / %d missing / %d extra, %.0f deliveries/s, p99 %s ms; "
              "node CPU s %s: %s" % (
                  args.nodes, res.get("occupants_joined", 0), args.occupants,
                  res.get("joins_per_sec", 0), res.get("messages_sent", 0),
                  res.get("deliveries_expected", 0), res.get("deliveries_received", 0),
                  res.get("deliveries_missing", 0), res.get("deliveries_extra", 0),
                  res.get("deliveries_per_sec", 0), res.get("latency_ms_p99"), cpu,
                  "OK" if ok else "FAIL"), flush=True)
        if not ok:
            for x in nodes:
                print("--- %s log ---\n%s" % (x.name, x.log_tail(15)), file=sys.stderr)
        signal.alarm(0)
        return 0 if ok else 1
    finally:
        for x in nodes:
            x.kill(signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
