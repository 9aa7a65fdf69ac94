#!/usr/bin/python3
"""End-to-end test: an existing web site's users served by the `sql`
plugin, by configuration only (examples/existing-site/), on SQLite, a
private PostgreSQL (pg_helper.py) and a private MariaDB (mariadb_helper.py).

For each database: the site's tables are made from schema.DB.sql, the
server is started with DB.toml, and
  1. a real client (Debian's python3-slixmpp) logs in as alice with the
     site's password (PHP bcrypt), gets her roster from friendships (bob,
     accepted, and legacy, who asked her; not carol, still pending), and
     bob's vCard from his profile (PHOTO with TYPE image/png and the blob
     in BINVAL); bob logs in and alice sees his presence with the XEP-0153
     hash of that blob; carol's friendship is accepted in the database
     and reaches alice's online client as a roster push (roster_refresh_s);
  2. scenarios/sql/*.scenario (which the scenario runner also plays with
     the same users in memory): PLAIN only (bcrypt gives no SCRAM), wrong
     password, unknown user, a row in a form bcrypt cannot check,
     injection attempts in the password;
  3. PostgreSQL and MariaDB only (tests/e2e/sql/): the database is
     stopped, then frozen (SIGSTOP: nothing answers): a login is
     <temporary-auth-failure/> (never <not-authorized/>) within the query
     timeout; it is back: the login works (bounded waits).

    /usr/bin/python3 tests/e2e/test_sql_existing_site.py --server build/djabberd-actors
    ... --only sqlite

Exits 0 on success, 1 otherwise. A database whose binaries are missing is
skipped (said so); all three missing: 77. Bounded by --limit (240 s).
"""

import argparse
import asyncio
import base64
import hashlib
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SITE = os.path.join(REPO, "examples", "existing-site")
OWN = os.path.join(HERE, "sql")                   # database down / back
SCENARIOS = os.path.join(REPO, "scenarios", "sql")  # the error paths
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import mariadb_helper  # noqa: E402
import pg_helper  # noqa: E402
import runner as sr  # noqa: E402

try:
    import slixmpp
except ImportError:  # pragma: no cover
    print("FAIL: python3-slixmpp is not installed (apt-get install python3-slixmpp)")
    sys.exit(1)

NAME = "test_sql_existing_site"
STEP = 15  # seconds per network step
BACK_WITHIN = 20  # seconds for a login to work again after the database is back
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c"
                    "49444154789c63f8dfc0000004010180c52a185d0000000049454e44ae426082")
NS_UPDATE = "vcard-temp:x:update"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.presences = asyncio.Queue()
        self.register_plugin("xep_0054")
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("failed_auth", self._on_failed)
        self.add_event_handler("disconnected", self._on_failed)
        self.add_event_handler("presence_available", self.presences.put_nowait)

    async def _on_start(self, _event):
        try:
            await self.get_roster(timeout=STEP)
            self.send_presence()
            if not self.ready.done():
                self.ready.set_result(True)
        except Exception as e:  # noqa: BLE001
            if not self.ready.done():
                self.ready.set_exception(TestFailure("%s: roster: %r" % (self.boundjid.bare, e)))

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: no session (authentication failed or "
                                                 "disconnected)" % self.boundjid.bare))


async def login(port, jid, password):
    bot = Bot(jid, password)
    bot.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def photo_hash_of(bot, sender):
    """The XEP-0153 hash in `sender`'s next available presence to `bot`."""
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        try:
            p = await asyncio.wait_for(bot.presences.get(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        if p["from"].bare != sender:
            continue
        x = p.xml.find("{%s}x" % NS_UPDATE)
        photo = x.find("{%s}photo" % NS_UPDATE) if x is not None else None
        return photo.text if photo is not None else None
    raise TestFailure("no available presence of %s within %ds" % (sender, STEP))


async def roster_push(bot, contact, change):
    """`change()` makes `contact` a friend in the database; the refresh
    (roster_refresh_s = 1 here) pushes it to `bot` (bounded wait)."""
    change()
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if contact in bot.client_roster.keys() and bot.client_roster[contact]["subscription"] == "both":
            return
        await asyncio.sleep(0.2)
    raise TestFailure("no roster push of %s to %s within %ds" % (contact, bot.boundjid.bare, STEP))


async def client_checks(port, change):
    alice = bob = None
    try:
        alice = await login(port, "alice@localhost/site", "rasmuslerdorf")
        roster = alice.client_roster
        contacts = sorted(j for j in roster.keys() if j != "alice@localhost")
        if contacts != ["bob@localhost", "legacy@localhost"]:
            raise TestFailure("alice's roster: %s, expected bob and legacy (carol is pending)" % contacts)
        item = roster["bob@localhost"]
        if item["name"] != "Bob Builder" or item["subscription"] != "both" or item["groups"] != ["Friends"]:
            raise TestFailure("bob's roster item: name %r, subscription %r, groups %r"
                              % (item["name"], item["subscription"], item["groups"]))
        print("  alice logged in with the site's bcrypt password; roster from friendships: %s" % contacts)

        # The site's friendships are read only: a roster set is refused
        # as a policy (<not-allowed/>), not as a failure.
        iq = alice.Iq(stype="set")
        iq.enable("roster")
        iq["roster"]["items"] = {"dave@localhost": {"name": "Dave", "subscription": "none", "groups": []}}
        try:
            await iq.send(timeout=STEP)
            raise TestFailure("a roster set on the site's read-only roster was accepted")
        except slixmpp.exceptions.IqError as err:
            cond = err.iq["error"]["condition"]
            if cond != "not-allowed":
                raise TestFailure("roster set on a read-only roster: %s, expected not-allowed" % cond)
        print("  a roster set on the site's friendships is refused with not-allowed")

        iq = await alice["xep_0054"].get_vcard("bob@localhost", cached=False, timeout=STEP)
        vc = iq["vcard_temp"]
        binval = vc["PHOTO"]["BINVAL"]
        if vc["FN"] != "Bob Builder" or vc["PHOTO"]["TYPE"] != "image/png" or binval != PNG:
            raise TestFailure("bob's vCard: FN %r, PHOTO TYPE %r, %d bytes of BINVAL"
                              % (vc["FN"], vc["PHOTO"]["TYPE"], len(binval or b"")))
        print("  bob's vCard from his profile: FN, PHOTO image/png (%d bytes)" % len(binval))

        bob = await login(port, "bob@localhost/site", "bobs-password")
        got = await photo_hash_of(alice, "bob@localhost")
        want = hashlib.sha1(PNG).hexdigest()
        if got != want:
            raise TestFailure("bob's presence to alice: photo hash %r, expected %s" % (got, want))
        print("  bob's presence reaches alice with the XEP-0153 hash of his avatar (%s)" % want)

        await roster_push(alice, "carol@localhost", change)
        print("  carol's friendship accepted in the database: pushed to alice's online client")
    finally:
        for b in (alice, bob):
            if b is None:
                continue
            try:
                fut = b.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001
                pass


def run_clients(port, change):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(client_checks(port, change), 60))
    except asyncio.TimeoutError:
        raise TestFailure("the client checks did not finish within 60 s")
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def play(server, name, report=True, folder=OWN):
    sc = sr.parse_scenario(os.path.join(folder, name), name)
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


def outage(server, db):
    """The database stops, then freezes: temporary-auth-failure; it is
    back: logins work."""
    db.stop()
    if not play(server, "database_down.scenario"):
        raise TestFailure("a login while the database is down")
    print("  database down: <temporary-auth-failure/>")
    db.start()
    t0 = time.monotonic()
    while not play(server, "database_back.scenario", report=False):
        if time.monotonic() - t0 > BACK_WITHIN:
            play(server, "database_back.scenario")
            raise TestFailure("no login within %ds after the database came back" % BACK_WITHIN)
        time.sleep(0.25)
    print("  database back: carol logs in after %.1f s" % (time.monotonic() - t0))
    db.freeze()
    try:
        t0 = time.monotonic()
        if not play(server, "database_frozen.scenario"):
            raise TestFailure("a login while the database is frozen")
        print("  database frozen: <temporary-auth-failure/> after %.1f s" % (time.monotonic() - t0))
    finally:
        db.thaw()
    t0 = time.monotonic()
    while not play(server, "database_thawed.scenario", report=False):
        if time.monotonic() - t0 > BACK_WITHIN:
            play(server, "database_thawed.scenario")
            raise TestFailure("no login within %ds after the database was thawed" % BACK_WITHIN)
        time.sleep(0.25)
    print("  database thawed: dave logs in after %.1f s" % (time.monotonic() - t0))


ACCEPT_CAROL = "UPDATE friendships SET status = 'accepted' WHERE user_id = 1 AND friend_id = 3"


def with_server(binary, backend, tmp, target, change, db=None):
    """Starts the server with examples/existing-site/BACKEND.toml (its
    database at `target`) and runs the checks."""
    with open(os.path.join(SITE, "%s.toml" % backend), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("@DATA_DIR@/site.sqlite", target).replace("@DSN@", target)
    text = text.replace("roster_refresh_s = 30", "roster_refresh_s = 1")
    cfg = os.path.join(tmp, "%s.toml" % backend)
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text)
    server = sr.Server(binary, cfg)
    server.start()
    try:
        run_clients(server.port, change)
        for name in ("logins.scenario", "wrong_password.scenario", "unknown_format.scenario",
                     "injection.scenario"):
            if not play(server, name, folder=SCENARIOS):
                raise TestFailure(name)
        print("  scenarios: PLAIN only, wrong password, unknown user, unknown hash form, injection")
        if db is not None:
            outage(server, db)
        if server.proc.poll() is not None:
            raise TestFailure("the server exited (status %s)" % server.proc.returncode)
        with open(server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        if "PLAIN only" not in log or "cannot check" not in log:
            raise TestFailure("the server log lacks the PLAIN-only decision or the unknown-form line")
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
    except (TestFailure, sr.Failure):
        print("--- last lines of the server log (%s) ---" % server.log_path)
        print(server.log_tail(40))
        raise
    finally:
        server.stop()
        server.cleanup()


def schema(backend):
    with open(os.path.join(SITE, "schema.%s.sql" % backend), encoding="utf-8") as f:
        return f.read()


def run_sqlite(binary, tmp):
    path = os.path.join(tmp, "site.sqlite")
    con = sqlite3.connect(path)
    con.executescript(schema("sqlite"))
    con.close()
    def change():
        c = sqlite3.connect(path)
        c.execute(ACCEPT_CAROL)
        c.commit()
        c.close()
    with_server(binary, "sqlite", tmp, path, change)
    con = sqlite3.connect(path)
    n = con.execute("SELECT count(*) FROM users").fetchone()[0]
    con.close()
    if n != 5:
        raise TestFailure("the site's users table has %d rows after the test, expected 5" % n)


def run_pgsql(binary, tmp):
    if pg_helper.find_binaries() is None:
        return False
    pg = pg_helper.Postgres()
    try:
        pg.start()
        pg.createdb("site")
        pg.psql(schema("pgsql"), db="site")
        with_server(binary, "pgsql", tmp, pg.dsn("site"), lambda: pg.psql(ACCEPT_CAROL, db="site"), db=pg)
        if pg.psql("SELECT count(*) FROM users", db="site") != "5":
            raise TestFailure("the site's users table changed")
    finally:
        pg.cleanup()
    return True


def run_mariadb(binary, tmp):
    if mariadb_helper.find_binaries() is None:
        return False
    db = mariadb_helper.MariaDB()
    try:
        db.start()
        db.create_site("site", schema("mariadb"))
        with_server(binary, "mariadb", tmp, db.dsn("site"), lambda: db.sql(ACCEPT_CAROL, db="site"), db=db)
        if db.sql("SELECT count(*) FROM users", db="site") != "5":
            raise TestFailure("the site's users table changed")
    finally:
        db.cleanup()
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary")
    ap.add_argument("--only", choices=("sqlite", "pgsql", "mariadb"), help="one database only")
    ap.add_argument("--limit", type=int, default=240, help="hard time limit in seconds")
    ap.add_argument("-v", "--verbose", action="store_true", help="slixmpp debug log")
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL)

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    binary = os.path.abspath(args.server)
    ran = 0
    try:
        for backend, fn in (("sqlite", run_sqlite), ("pgsql", run_pgsql), ("mariadb", run_mariadb)):
            if args.only and backend != args.only:
                continue
            print("%s:" % backend)
            with tempfile.TemporaryDirectory(prefix="dja-site-") as tmp:
                if fn(binary, tmp) is False:
                    print("  skipped: the %s binaries are not installed" % backend)
                    continue
            ran += 1
        signal.alarm(0)
        if ran == 0:
            print("SKIP %s: no database available" % NAME)
            return 77
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, sr.Failure, pg_helper.PgError, mariadb_helper.MariaDBError) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
