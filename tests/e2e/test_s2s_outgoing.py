#!/usr/bin/python3
"""Error paths of the outgoing s2s stream against hand-written remote
servers: no STARTTLS, a stream error, dialback refused, silence after TLS,
STARTTLS refused; each bounces the waiting stanza with the right
condition. See tests/s2s/outgoing.py.

    /usr/bin/python3 tests/e2e/test_s2s_outgoing.py --server build/djabberd-actors
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s2s"))

import outgoing  # noqa: E402
from harness import Failure  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    try:
        outgoing.run(os.path.abspath(args.server))
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    print("PASS: test_s2s_outgoing")
