#!/usr/bin/python3
"""XEP-0198 stream management with xmpp.js (npm @xmpp/client, its
@xmpp/stream-management, on Debian's node): tests/e2e/xmppjs/sm.js.

The phone logs in (STARTTLS, SCRAM; xmpp.js enables stream management
with resumption whenever the server offers it), exchanges acknowledged
messages with the laptop, sends one more and loses its TCP socket (no
</stream:stream>); the laptop sends two messages meanwhile; xmpp.js
reconnects and resumes (<resume previd h/> after SASL). The phone must
get the two messages once, in order, XEP-0203 stamped, under the same
full JID; the laptop must get the phone's messages exactly once (the h
of <resumed/> tells xmpp.js which of its own it must send again).

Starts djabberd-actors with scenarios/configs/sm.toml on free ports.
xmpp.js is installed by `tools/setup.sh --test` into tests/e2e/xmppjs/
(npm ci from package-lock.json); without node or it the test is skipped
(exit 77).

    /usr/bin/python3 tests/e2e/test_sm_xmppjs.py --server build/djabberd-actors
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402

NAME = "test_sm_xmppjs"
DIR = os.path.join(HERE, "xmppjs")
SKIP = 77


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
    ap.add_argument("--limit", type=int, default=60, help="time limit of the client in seconds (default 60)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the client's output")
    args = ap.parse_args()
    if shutil.which("node") is None:
        print("SKIP %s: node is not installed" % NAME)
        return SKIP
    if not os.path.isdir(os.path.join(DIR, "node_modules", "@xmpp", "client")):
        print("SKIP %s: @xmpp/client is not installed in %s (tools/setup.sh --test runs npm ci there)"
              % (NAME, DIR))
        return SKIP
    binary = os.path.abspath(args.server)
    if not os.access(binary, os.X_OK):
        print("FAIL %s: server binary not found: %s" % (NAME, binary))
        return 1
    server = sr.Server(binary, os.path.join(REPO, "scenarios", "configs", "sm.toml"))
    try:
        server.start()
        print("server started on 127.0.0.1:%d (log %s)" % (server.port, server.log_path))
        env = dict(os.environ, NODE_TLS_REJECT_UNAUTHORIZED="0", NODE_NO_WARNINGS="1")
        argv = ["node", os.path.join(DIR, "sm.js"), "xmpp://127.0.0.1:%d" % server.port,
                "localhost", "alice", "bob", "pw"]
        try:
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=args.limit)
            out, status = p.stdout.decode("utf-8", "replace"), p.returncode
        except subprocess.TimeoutExpired as e:
            out, status = (e.stdout or b"").decode("utf-8", "replace"), None
        if args.verbose or status != 0:
            print(out)
        problem = None
        if status is None:
            problem = "the client did not finish within %d s" % args.limit
        elif status != 0 or "PASS" not in out.splitlines():
            problem = "the client failed (exit status %s)" % status
        elif server.proc.poll() is not None:
            problem = "the server exited during the test (status %s)" % server.proc.returncode
        else:
            problem = server.stop()
        if problem:
            print("FAIL %s: %s" % (NAME, problem))
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
            return 1
        print("PASS %s" % NAME)
        return 0
    except sr.Failure as e:
        print("FAIL %s: %s" % (NAME, e))
        return 1
    finally:
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
