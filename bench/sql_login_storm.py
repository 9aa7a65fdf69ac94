#!/usr/bin/python3
"""Benchmark: other users' message latency during a storm of bcrypt logins
through the `sql` plugin (plugins/sql/), which hashes on its own detached
worker threads, never on the scheduler's.

A SQLite site (like examples/existing-site/) holds P pair users and S storm
users, all with a PHP-style bcrypt hash (cost 10) of "pw". The server runs
with the `sql` plugin (pool_size W). Then, with dja-loadgen:
  1. baseline: P pair users exchange messages at --rate msgs/s (open loop,
     so a stall shows as latency) for --duration seconds;
  2. storm: the same, while S other users log in, --concurrency at a time
     (started once the pair users are in: a login queued behind the storm
     would wait for the bcrypt checks before it).
Prints the pairs' p50/p99/max one-way latency in both runs and the storm's
logins per second.

    /usr/bin/python3 bench/sql_login_storm.py --server build/djabberd-actors \\
        --loadgen build/bench/dja-loadgen [--pool 2] [--storm 200]

Not a test: it asserts nothing. Bounded (each loadgen run has --timeout).
"""

import argparse
import crypt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402

CONFIG = """[server]
log_level = "warn"
data_dir  = "@DATA_DIR@"
[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@
allow_plain_without_tls = true
[limits]
max_connections_per_address = 0
[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type = "sql"
  driver = "sqlite"
  database = "%s"
  password_format = "bcrypt"
  password_sql = "SELECT hash FROM users WHERE name = :user"
  pool_size = %d
"""


def loadgen(args, port, extra):
    cmd = [args.loadgen, "--host", "127.0.0.1", "--port", str(port), "--domain", "localhost",
           "--password", "pw", "--json", "--timeout", "120"] + extra
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=150)
    out = p.stdout.decode().strip().splitlines()
    if p.returncode != 0 or not out:
        raise SystemExit("dja-loadgen failed (%d): %s" % (p.returncode, p.stderr.decode()[-500:]))
    return json.loads(out[-1])


def pairs(args, port):
    return loadgen(args, port, ["--mode", "pairs", "--user-pattern", "p%d", "--users", str(args.pairs),
                                "--rate", str(args.rate), "--duration", str(args.duration),
                                "--warmup", str(args.login_s + 1)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--pool", type=int, default=2, help="pool_size of the sql plugin")
    ap.add_argument("--pairs", type=int, default=20, help="users exchanging messages (even)")
    ap.add_argument("--storm", type=int, default=200, help="users logging in during the storm")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--rate", type=int, default=1000, help="messages/s over all pair users")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--login-s", type=int, default=3, help="seconds the pair users have to log in")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dja-sql-bench-")
    db = os.path.join(tmp, "site.sqlite")
    h = crypt.crypt("pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)).replace("$2b$", "$2y$", 1)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (name TEXT PRIMARY KEY, hash TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?)",
                    [("p%d" % i, h) for i in range(1, args.pairs + 1)]
                    + [("s%d" % i, h) for i in range(1, args.storm + 1)])
    con.commit()
    con.close()
    cfg = os.path.join(tmp, "server.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG % (db, args.pool))
    server = sr.Server(os.path.abspath(args.server), cfg)
    server.start()
    try:
        base = pairs(args, server.port)
        storm = {}

        def run_storm():
            storm.update(loadgen(args, server.port,
                                 ["--mode", "login", "--user-pattern", "s%d", "--users", str(args.storm),
                                  "--concurrency", str(args.concurrency)]))
        # The pair users log in first (they would queue behind the storm's
        # bcrypt checks), then the storm starts inside their warm-up.
        res = {}
        t = threading.Thread(target=lambda: res.update(pairs(args, server.port)))
        t.start()
        time.sleep(args.login_s)
        run_storm()
        t.join(160)
        during = res
    finally:
        server.stop()
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("sql login storm: bcrypt cost 10, pool_size %d, %d pair users at %d msgs/s, %d storm logins "
          "(%d at a time)" % (args.pool, args.pairs, args.rate, args.storm, args.concurrency))
    for name, r in (("baseline", base), ("during storm", during)):
        print("  %-13s messages p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d measured, %d lost)"
              % (name, r["latency_ms_p50"], r["latency_ms_p99"], r["latency_ms_max"],
                 r["messages_measured"], r["messages_lost"]))
    print("  storm: %d logins done, %d failed, %.1f logins/s, login p50 %.0f ms p99 %.0f ms"
          % (storm.get("logins_done", 0), storm.get("logins_failed", 0), storm.get("logins_per_sec", 0),
             storm.get("login_latency_ms_p50", 0), storm.get("login_latency_ms_p99", 0)))


if __name__ == "__main__":
    main()
