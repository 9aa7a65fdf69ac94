#!/usr/bin/python3
"""Federation of two djabberd-actors instances (a.test on 127.0.0.1,
b.test on 127.0.0.2) with certificates from a private CA: STARTTLS and
SASL EXTERNAL (XEP-0178) in both directions. See tests/s2s/federation.py.

    /usr/bin/python3 tests/e2e/test_s2s_external.py --server build/djabberd-actors
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s2s"))

import federation  # noqa: E402
from harness import Failure  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    try:
        federation.run(os.path.abspath(args.server), "external")
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    print("PASS: test_s2s_external")
