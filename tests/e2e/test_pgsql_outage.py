#!/usr/bin/python3
"""End-to-end test: the *.pgsql plugins when PostgreSQL goes away and comes
back; and the admin command (`user add|passwd|list|del`) on auth.pgsql.

Starts a private PostgreSQL (tests/e2e/pg_helper.py) and the server with
tests/e2e/pgsql/pgsql.toml, then plays, against that one server process:

 0. the server is started while PostgreSQL is down: outage_2_down.scenario
    (errors, the server up); PostgreSQL starts; reachable.scenario is
    played until every storage plugin answers (bounded);
 1. outage_1_up.scenario: alice registers (SCRAM), stores a vCard, private
    XML and a roster item;
 2. PostgreSQL is stopped (pg_ctl -m fast: every connection is cut);
    outage_2_down.scenario: logins get <temporary-auth-failure/>, iqs of
    the storage plugins <internal-server-error/>, ping still answers;
 3. PostgreSQL is started again; login_probe.scenario is played until a
    SCRAM login works (bounded: the plugins retry with a back-off of at
    most 5 s); outage_3_back.scenario: the data is all there, writes work;
 4. PostgreSQL is frozen (SIGSTOP to its processes: sockets stay open but
    nothing answers); outage_4_frozen.scenario: an iq still gets
    <internal-server-error/> within the plugin timeout; after SIGCONT,
    outage_3_back.scenario is played until it passes (bounded).
The server must stay up throughout and exit 0 on SIGTERM. Then the admin
command adds, lists, re-keys and removes an account in the same database.

    /usr/bin/python3 tests/e2e/test_pgsql_outage.py --server build/djabberd-actors

Exits 0 on success, 77 (skipped) only when the PostgreSQL binaries are
missing, 1 otherwise. Bounded by --limit (90 s).
"""

import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import pg_helper  # noqa: E402
import runner as sr  # noqa: E402

NAME = "test_pgsql_outage"
OWN = os.path.join(HERE, "pgsql")
BACK_WITHIN = 15  # seconds for a login to work again after postgres is back


class TestFailure(Exception):
    pass


def play(server, name, report=True):
    """Plays tests/e2e/pgsql/NAME against the running server; True if it passed."""
    path = os.path.join(OWN, name)
    sc = sr.parse_scenario(path, name)
    player = sr.Player(sc, "127.0.0.1", server.port, server)
    st = None
    try:
        for st in sc.statements:
            player.run_statement(st)
        return True
    except sr.Failure as f:
        if report:
            sr.report_failure(sc, st, f, player, server, print)
        return False
    finally:
        player.close_all()


def wait_for(server, name, what):
    """Plays NAME until it passes (the plugins retry with a back-off of at
    most 5 s); returns the seconds it took, fails after BACK_WITHIN."""
    t0 = time.monotonic()
    while not play(server, name, report=False):
        if time.monotonic() - t0 > BACK_WITHIN:
            play(server, name)  # once more, with the report
            raise TestFailure("%s within %ds (%s)" % (what, BACK_WITHIN, name))
        time.sleep(0.25)
    return time.monotonic() - t0


def alive(server, when):
    if server.proc.poll() is not None:
        raise TestFailure("the server exited %s (status %s)" % (when, server.proc.returncode))


def admin(binary, cfg, *args, password=None):
    p = subprocess.run([binary, "user", args[0], "--config", cfg] + list(args[1:]),
                       input=(password + "\n").encode() if password else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


def check_admin(binary, cfg):
    """The admin command path: the vhost's auth plugins, here auth.pgsql."""
    rc, out = admin(binary, cfg, "add", "erin@localhost", password="erin-pw")
    if rc != 0:
        raise TestFailure("user add failed (%d): %s" % (rc, out))
    rc, out = admin(binary, cfg, "add", "erin@localhost", password="other")
    if rc == 0:
        raise TestFailure("user add of an existing account succeeded: %s" % out)
    rc, out = admin(binary, cfg, "list", "localhost")
    names = out.split()
    if rc != 0 or "erin@localhost" not in names or "alice@localhost" not in names:
        raise TestFailure("user list: expected alice and erin (%d): %s" % (rc, out))
    rc, out = admin(binary, cfg, "passwd", "erin@localhost", password="new-pw")
    if rc != 0:
        raise TestFailure("user passwd failed (%d): %s" % (rc, out))
    rc, out = admin(binary, cfg, "del", "erin@localhost")
    if rc != 0:
        raise TestFailure("user del failed (%d): %s" % (rc, out))
    rc, out = admin(binary, cfg, "list", "localhost")
    if rc != 0 or "erin@localhost" in out.split():
        raise TestFailure("user list after del still shows erin (%d): %s" % (rc, out))
    print("admin: user add / add again (refused) / list / passwd / del on auth.pgsql")


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
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    pg = server = None
    try:
        pg = pg_helper.Postgres()
        pg.start()
        pg.createdb("outage")
        with open(os.path.join(OWN, "pgsql.toml"), encoding="utf-8") as f:
            text = pg_helper.pgsql_config(f.read(), pg.dsn("outage"))
        template = os.path.join(pg.tmp, "server.toml.in")
        with open(template, "w", encoding="utf-8") as f:
            f.write(text)
        pg.stop()  # 0: the server starts while the database is down
        server = sr.Server(binary, template)
        server.start()
        print("postgres in %s; server on 127.0.0.1:%d (log %s)" % (pg.tmp, server.port, server.log_path))
        if not play(server, "outage_2_down.scenario"):
            raise TestFailure("outage_2_down.scenario failed (database down since the start)")
        alive(server, "with the database down since the start")
        pg.start()
        wait_for(server, "reachable.scenario", "the storage plugins did not reach the database")
        print("0: started without the database: errors, then every plugin connected once it came up")

        if not play(server, "outage_1_up.scenario"):
            raise TestFailure("outage_1_up.scenario failed")
        print("1: alice registered, vCard, private XML and roster stored")

        pg.stop()
        t0 = time.monotonic()
        if not play(server, "outage_2_down.scenario"):
            raise TestFailure("outage_2_down.scenario failed")
        alive(server, "while the database was down")
        print("2: database down: temporary-auth-failure and internal-server-error in %.1fs, server up"
              % (time.monotonic() - t0))

        pg.start()
        waited = wait_for(server, "login_probe.scenario", "no SCRAM login")
        print("3: database back: a SCRAM login works again after %.1fs" % waited)
        if not play(server, "outage_3_back.scenario"):
            raise TestFailure("outage_3_back.scenario failed")
        alive(server, "after the database came back")
        print("3: everything stored before the outage is there; writes work")

        pg.freeze()
        try:
            t0 = time.monotonic()
            if not play(server, "outage_4_frozen.scenario"):
                raise TestFailure("outage_4_frozen.scenario failed")
            waited = time.monotonic() - t0
        finally:
            pg.thaw()
        alive(server, "while the database was frozen")
        print("4: database frozen: internal-server-error after %.1fs, server up" % waited)
        waited = wait_for(server, "outage_3_back.scenario", "storage did not work after the thaw")
        print("4: database thawed: storage works again after %.1fs" % waited)

        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        check_admin(binary, os.path.join(server.tmp, "server.toml"))
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, sr.Failure, pg_helper.PgError, subprocess.TimeoutExpired, OSError) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- last lines of the server log (%s) ---\n%s" % (server.log_path, server.log_tail(40)))
        if pg is not None:
            print("--- last lines of the postgres log ---\n%s" % pg.log_tail())
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()
        if pg is not None:
            pg.cleanup()


if __name__ == "__main__":
    sys.exit(main())
