#!/usr/bin/python3
"""End-to-end test: roster.pgsql migrates a version 1 schema (no
`listed` column) to version 2, and existing rows get the rule that
judged them before: None + Pending In without name or groups is a
request alone (not listed, RFC 6121 §3.1.3), every other item is listed.

Starts a private PostgreSQL (tests/e2e/pg_helper.py), writes the version 1
tables and rows as roster.pgsql did, runs `djabberd-actors user list`
(which spawns the vhost's plugins, so roster.pgsql migrates at start-up)
and reads the rows back with psql.

    /usr/bin/python3 tests/e2e/test_pgsql_roster_migration.py --server build/djabberd-actors

Exits 0 on success, 77 (skipped) only when the PostgreSQL binaries are
missing, 1 otherwise. Bounded by --limit (90 s).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import pg_helper  # noqa: E402

NAME = "test_pgsql_roster_migration"

V1 = """
CREATE TABLE schema_version (component TEXT PRIMARY KEY,
                             version INTEGER NOT NULL);
INSERT INTO schema_version VALUES ('roster', 1);
CREATE TABLE roster_items (
  domain TEXT NOT NULL, username TEXT NOT NULL, contact TEXT NOT NULL,
  name TEXT NOT NULL, subscription TEXT NOT NULL, ask_out BOOLEAN NOT NULL,
  pending_in BOOLEAN NOT NULL, approved BOOLEAN NOT NULL,
  PRIMARY KEY (domain, username, contact));
CREATE TABLE roster_groups (
  domain TEXT NOT NULL, username TEXT NOT NULL, contact TEXT NOT NULL,
  grp TEXT NOT NULL, PRIMARY KEY (domain, username, contact, grp));
CREATE TABLE roster_versions (
  domain TEXT NOT NULL, username TEXT NOT NULL, version BIGINT NOT NULL,
  PRIMARY KEY (domain, username));
INSERT INTO roster_items VALUES
  ('localhost', 'alice', 'req@localhost', '', 'none', false, true, false),
  ('localhost', 'alice', 'named@localhost', 'N', 'none', false, true, false),
  ('localhost', 'alice', 'grouped@localhost', '', 'none', false, true, false),
  ('localhost', 'alice', 'plain@localhost', '', 'none', false, false, false),
  ('localhost', 'alice', 'to@localhost', '', 'to', false, true, false),
  ('localhost', 'alice', 'ask@localhost', '', 'none', true, true, false),
  ('localhost', 'bob', 'req@localhost', '', 'none', false, true, false);
INSERT INTO roster_groups VALUES
  ('localhost', 'alice', 'grouped@localhost', 'G');
INSERT INTO roster_versions VALUES ('localhost', 'alice', 7);
"""

WANT = {
    "alice req@localhost": "false",
    "alice named@localhost": "true",
    "alice grouped@localhost": "true",
    "alice plain@localhost": "true",
    "alice to@localhost": "true",
    "alice ask@localhost": "true",
    "bob req@localhost": "false",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary")
    ap.add_argument("--limit", type=int, default=90, help="hard time limit in seconds")
    args = ap.parse_args()
    binary = os.path.abspath(args.server)
    if pg_helper.find_binaries() is None:
        print("SKIP %s: PostgreSQL binaries not found (apt-get install postgresql)" % NAME)
        return pg_helper.SKIP

    def on_alarm(_sig, _frm):
        raise pg_helper.PgError("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    pg = None
    tree = tempfile.mkdtemp(prefix="dja-pgsql-roster-migration-")
    try:
        pg = pg_helper.Postgres()
        pg.start()
        pg.createdb("r")
        pg.psql(V1, db="r")
        with open(os.path.join(REPO, "scenarios", "configs", "im.toml"), encoding="utf-8") as f:
            text = pg_helper.pgsql_config(f.read(), pg.dsn("r"))
        data = os.path.join(tree, "data")
        os.makedirs(data)
        cfg = os.path.join(tree, "im.toml")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text.replace("@PORT@", "1").replace("@TLS_PORT@", "2").replace("@DATA_DIR@", data))
        p = subprocess.run([binary, "user", "list", "--config", cfg, "localhost"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if p.returncode != 0:
            raise pg_helper.PgError("user list failed (%d): %s" % (p.returncode, p.stdout.decode(errors="replace")))
        version = pg.psql("SELECT version FROM schema_version WHERE component = 'roster'", db="r")
        rows = pg.psql("SELECT username || ' ' || contact || '|' || listed FROM roster_items", db="r")
        got = dict(line.split("|") for line in rows.splitlines() if line)
        roster_version = pg.psql("SELECT version FROM roster_versions WHERE username = 'alice'", db="r")
        signal.alarm(0)
        problems = []
        if version != "2":
            problems.append("schema version %r, want 2" % version)
        if got != WANT:
            problems.append("listed %r, want %r" % (got, WANT))
        if roster_version != "7":
            problems.append("alice's roster version %r, want 7" % roster_version)
        if problems:
            print("FAIL %s: %s" % (NAME, "; ".join(problems)))
            return 1
        print("PASS %s" % NAME)
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
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
