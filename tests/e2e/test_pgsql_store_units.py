#!/usr/bin/python3
"""The auth and roster unit tests against PostgreSQL: runs
build/tests/plugins_auth_test and build/tests/plugins_roster_test with
DJA_TEST_PGSQL_DSN naming a fresh database of a private PostgreSQL
(tests/e2e/pg_helper.py), so the test bodies that run against auth.sqlite
and roster.sqlite also run against auth.pgsql and roster.pgsql. Without
the variable those binaries skip their PostgreSQL cases.

    /usr/bin/python3 tests/e2e/test_pgsql_store_units.py --server build/djabberd-actors

Exits 0 on success, 77 (skipped) only when the PostgreSQL binaries are
missing, 1 otherwise. Bounded by --limit (240 s).
"""

import argparse
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pg_helper  # noqa: E402

NAME = "test_pgsql_store_units"
# binary -> a line it prints only when its PostgreSQL cases ran
TESTS = {"plugins_auth_test": "backend auth.pgsql",
         "plugins_roster_test": "backend roster.pgsql"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary (its build tree has the tests)")
    ap.add_argument("--limit", type=int, default=240, help="hard time limit in seconds")
    args = ap.parse_args()
    tests_dir = os.path.join(os.path.dirname(os.path.abspath(args.server)), "tests")
    if pg_helper.find_binaries() is None:
        print("SKIP %s: PostgreSQL binaries not found (apt-get install postgresql)" % NAME)
        return pg_helper.SKIP

    def on_alarm(_sig, _frm):
        raise pg_helper.PgError("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    pg = None
    try:
        pg = pg_helper.Postgres()
        pg.start()
        failed = []
        for test, marker in TESTS.items():
            binary = os.path.join(tests_dir, test)
            if not os.access(binary, os.X_OK):
                raise pg_helper.PgError("%s is not built" % binary)
            db = test.replace("plugins_", "").replace("_test", "")
            pg.createdb(db)
            env = dict(os.environ, DJA_TEST_PGSQL_DSN=pg.dsn(db))
            p = subprocess.run([binary, "-r", "60"], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=args.limit)
            out = p.stdout.decode(errors="replace")
            if p.returncode != 0 or marker not in out:
                failed.append(test)
                print("--- %s (exit %d) ---\n%s" % (test, p.returncode, out[-4000:]))
        signal.alarm(0)
        if failed:
            print("FAIL %s: %s" % (NAME, ", ".join(failed)))
            return 1
        print("PASS %s (%s)" % (NAME, ", ".join(TESTS)))
        return 0
    except (pg_helper.PgError, subprocess.TimeoutExpired, OSError) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if pg is not None:
            print("--- last lines of the postgres log ---\n%s" % pg.log_tail())
        return 1
    finally:
        signal.alarm(0)
        if pg is not None:
            pg.cleanup()


if __name__ == "__main__":
    sys.exit(main())
