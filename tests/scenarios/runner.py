#!/usr/bin/python3
"""Scenario runner for djabberd-actors: plays scripted XMPP conversations
(scenarios/**/*.scenario) against a real server process and checks every
stanza the server sends.

Usage:
    tests/scenarios/runner.py --server build/djabberd-actors-test scenarios/
    tests/scenarios/runner.py --attach 127.0.0.1:16222 scenarios/  # Prosody
    tests/scenarios/runner.py --server BIN -k sasl -v scenarios/

For each scenario the runner picks a free port on 127.0.0.1, writes the
scenario's config (scenarios/configs/NAME.toml, @PORT@ / @DATA_DIR@ replaced)
into a temporary directory, starts the server, waits until the port accepts
connections, plays the scenario and stops the server (SIGTERM, bounded wait,
SIGKILL fallback). Every wait is bounded. The syntax of the scenario files is
documented in scenarios/README.md.

TLS (STARTTLS and direct TLS, XEP-0368) uses the ssl module; the SASL
SCRAM client (RFC 5802 / 7677, -PLUS with RFC 9266 / RFC 5929 channel
binding) uses hashlib and hmac; a run-wide self-signed certificate is made
with the openssl command line tool when a config asks for one (@CERT@).

The runner is split by concern: scn_xml (element tree, matching),
scn_client (connections, TLS, SASL helpers), scn_script (the scenario
language), scn_server (the server process), scn_player (playing one
scenario); this file collects scenarios and runs them.

Standard library only.
"""

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from scn_xml import REPO, ScenarioError
from scn_script import parse_scenario
from scn_player import run_scenario
# What the e2e tests use as runner.X (tests/e2e/*.py import runner as sr).
from scn_xml import Failure  # noqa: F401,E402
from scn_server import Server  # noqa: F401,E402
from scn_player import Player, report_failure  # noqa: F401,E402


# --------------------------------------------------------------------------

def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith(".scenario"):
                        files.append(os.path.join(root, n))
        elif os.path.isfile(p):
            files.append(p)
        else:
            print("no such file or directory: %s" % p, file=sys.stderr)
            sys.exit(2)
    return files


def main():
    ap = argparse.ArgumentParser(description="Play XMPP scenarios against djabberd-actors.")
    ap.add_argument("paths", nargs="*", default=[os.path.join(REPO, "scenarios")],
                    help="scenario files or directories (default: scenarios/)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server", help="path of the djabberd-actors binary (a fresh server per scenario)")
    g.add_argument("--attach", metavar="HOST:PORT",
                   help="use an already running server (scenarios needing their own config are skipped)")
    ap.add_argument("-k", dest="filter", action="append", default=[],
                    help="only scenarios whose path or title contains this substring (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print statements and traffic")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="scenarios run in parallel (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary server directories")
    args = ap.parse_args()

    if args.server:
        args.server = os.path.abspath(args.server)
        if not os.access(args.server, os.X_OK):
            print("server binary not found or not executable: %s" % args.server, file=sys.stderr)
            print("scenarios: 0 passed, 1 failed")
            return 1

    files = collect(args.paths)
    scenarios = []
    errors = 0
    for fpath in files:
        rel = os.path.relpath(fpath, os.path.join(REPO, "scenarios")) if os.path.abspath(fpath).startswith(
            os.path.join(REPO, "scenarios")) else fpath
        try:
            sc = parse_scenario(fpath, rel)
        except ScenarioError as e:
            print("FAIL %s\n  scenario syntax error: %s" % (rel, e))
            errors += 1
            continue
        if args.filter and not any(k in rel or k in sc.title for k in args.filter):
            continue
        scenarios.append(sc)

    lock = threading.Lock()
    results = {}
    t_start = time.monotonic()

    def one(sc):
        buf = []
        t0 = time.monotonic()
        res = run_scenario(sc, args, buf.append)
        dt = time.monotonic() - t0
        with lock:
            if args.verbose:
                print("== %s%s" % (sc.rel, (": " + sc.title) if sc.title else ""))
            for line in buf:
                print(line)
            if res == "pass":
                print("PASS %s (%.1fs)" % (sc.rel, dt))
            elif res.startswith("skip:"):
                print("SKIP %s (%s)" % (sc.rel, res[5:]))
            else:
                print("     (%.1fs)" % dt)
            sys.stdout.flush()
            results[sc.rel] = res

    if args.jobs > 1:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            list(ex.map(one, scenarios))
    else:
        for sc in scenarios:
            one(sc)

    passed = sum(1 for r in results.values() if r == "pass")
    failed = sum(1 for r in results.values() if r == "fail") + errors
    skipped = sum(1 for r in results.values() if r.startswith("skip"))
    if failed:
        print("failed: %s" % " ".join(sorted(k for k, v in results.items() if v == "fail")))
    if skipped:
        print("skipped: %d" % skipped)
    print("total time: %.1fs" % (time.monotonic() - t_start))
    print("scenarios: %d passed, %d failed" % (passed, failed))
    return 1 if failed or (passed == 0 and not skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
