#!/usr/bin/python3
"""Interop: Prosody (Debian) and djabberd-actors federate on loopback in
both directions (messages and presence subscriptions). Prosody runs with a
private config and data directory; what had to change in it for loopback
federation is listed in tests/s2s/prosody.py.

    /usr/bin/python3 tests/e2e/test_s2s_prosody.py --server build/djabberd-actors
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s2s"))

import prosody  # noqa: E402
from harness import Failure  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    try:
        prosody.run(os.path.abspath(args.server))
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    print("PASS: test_s2s_prosody")
