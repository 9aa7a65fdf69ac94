#!/usr/bin/python3
"""Federation refusals and failures: a certificate for the wrong domain,
forged and missing addresses on an authenticated stream, a silent peer
(remote-server-timeout without blocking other traffic), a domain without
DNS records. See tests/s2s/refusals.py.

    /usr/bin/python3 tests/e2e/test_s2s_refusals.py --server build/djabberd-actors
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s2s"))

import refusals  # noqa: E402
from harness import Failure  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    try:
        refusals.run(os.path.abspath(args.server))
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    print("PASS: test_s2s_refusals")
