#!/usr/bin/python3
"""End-to-end test of the control channel (actors/control/):
`djabberd-actors ctl` talking to a running server over its Unix socket.

One server serves two vhosts whose users live outside it:
  localhost  the `sql` plugin on examples/existing-site/ (SQLite), its
             rows cached for an hour (cache_ttl = 3600) and no polling
             (roster_refresh_s = 0): a change in the site's tables is
             only seen after `ctl invalidate`;
  web.test   the `http` plugin on the test's own web service
             (http_service.py), no polling, no refresh endpoint.
Then:
  1. `ctl status` and `ctl help` answer (exit 0); the socket is mode 0600;
     bad commands (unknown, missing or extra arguments, a full JID, an
     unknown vhost) exit 1 with a clear message; `reload` of the unchanged
     file says "no change" (tests/e2e/test_reload.py tests it); a raw client
     that sends a line past the bound, a control character or nothing at
     all gets `error` (the last after the request timeout);
  2. alice (slixmpp, online) has bob and legacy from friendships; a row
     added to friendships stays unseen while cached; `ctl invalidate
     alice@localhost` -> the roster push of dave reaches her client;
     bob's friendship deleted and `ctl invalidate localhost` -> a push
     removing bob;
  3. ann@web.test: the service's roster changes; `ctl invalidate --all`
     -> pushes (carol added, bob removed);
  4. the server stops: the socket file is gone and `ctl status` says
     "server not running" (exit 1);
  5. the start: a stale socket file (nobody accepts on it) is replaced; a
     second server on the same socket, a socket in a directory that does
     not exist and a path that is a regular file each stop the start with
     FILE:LINE: server.control_socket: ...; `control_socket = ""` starts
     without a socket.

    /usr/bin/python3 tests/e2e/test_ctl.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the server log's tail
otherwise. Every wait is bounded; the whole test has --limit (150 s).
"""

import argparse
import asyncio
import logging
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import cluster_lib as cl  # noqa: E402  (TestFailure, run)
import scn_server as ss  # noqa: E402  (Server: free port + temp config)
import test_sql_existing_site as site  # noqa: E402  (SITE, schema)
from http_service import Service  # noqa: E402
from test_http_userbase import login, expect_pushes  # noqa: E402

NAME = "test_ctl"
STEP = 10  # seconds per step
TestFailure = cl.TestFailure

ADD_DAVE = "INSERT INTO friendships (user_id, friend_id, status) VALUES (1, 5, 'accepted')"
DROP_BOB = "DELETE FROM friendships WHERE user_id = 1 AND friend_id = 2"


def site_config(db_path, svc):
    """examples/existing-site/sqlite.toml, cached and not polled, and a
    web.test vhost on the http service."""
    with open(os.path.join(site.SITE, "sqlite.toml"), encoding="utf-8") as f:
        text = f.read()
    for old, new in (("@DATA_DIR@/site.sqlite", db_path),
                     ("cache_ttl = 30", "cache_ttl = 3600"),
                     ("roster_refresh_s = 30", "roster_refresh_s = 0")):
        if old not in text:
            raise TestFailure("examples/existing-site/sqlite.toml has no %r" % old)
        text = text.replace(old, new)
    return text + """
[[vhost]]
domain = "web.test"
  [[vhost.plugin]]
  type = "http"
  auth_url = "%s"
  roster_url = "%s"
  basic_auth_user = "xmpp"
  basic_auth_password = "service-secret"
""" % (svc.url("ok", "auth"), svc.url("ok", "roster/%s"))


class Ctl:
    """`djabberd-actors ctl --config FILE ...` as a subprocess."""

    def __init__(self, binary, config):
        self.binary, self.config = binary, config

    def __call__(self, *args):
        p = subprocess.run([self.binary, "ctl", "--config", self.config] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=STEP + 30)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args):
        rc, out, err = self(*args)
        if rc != 0:
            raise TestFailure("ctl %s: exit %d, %s%s" % (" ".join(args), rc, out, err))
        return out

    def refused(self, args, want):
        rc, out, err = self(*args)
        if rc != 1 or want not in err:
            raise TestFailure("ctl %s: exit %d, stdout %r, stderr %r; expected 1 and %r"
                              % (" ".join(args), rc, out, err, want))


def raw(path, data, timeout=STEP):
    """Sends `data` to the control socket as is; what the server answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        if data:
            s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got.decode("utf-8", "replace")
            got += chunk
    finally:
        s.close()


def commands(ctl, sock):
    out = ctl.ok("status")
    for want in ("djabberd-actors", "up ", "vhosts: localhost, web.test", "connections: ",
                 "sessions: "):
        if want not in out:
            raise TestFailure("ctl status lacks %r:\n%s" % (want, out))
    out = ctl.ok("help")
    for want in ("status", "invalidate JID|DOMAIN|--all", "reload", "help"):
        if want not in out:
            raise TestFailure("ctl help lacks %r:\n%s" % (want, out))
    mode = stat.S_IMODE(os.stat(sock).st_mode)
    if mode != 0o600 or not stat.S_ISSOCK(os.stat(sock).st_mode):
        raise TestFailure("control socket %s: mode %o, expected a socket with 0600" % (sock, mode))
    print("  ctl status, ctl help: ok; the socket is mode 0600")

    ctl.refused(["frobnicate"], "unknown command frobnicate (try `help`)")
    ctl.refused(["invalidate"], "invalidate: expects JID|DOMAIN|--all")
    ctl.refused(["invalidate", "a@localhost", "b@localhost"], "invalidate: expects")
    ctl.refused(["status", "now"], "status: takes no argument")
    ctl.refused(["invalidate", "alice@localhost/phone"], "not a bare JID")
    ctl.refused(["invalidate", "nobody@elsewhere.test"],
                "no vhost elsewhere.test here (served: localhost, web.test)")
    ctl.refused(["invalidate", "bad@@jid"], "not a bare JID")
    ctl.refused([], "missing COMMAND")
    print("  bad commands: exit 1 with the reason (unknown, arguments, full JID, "
          "unknown vhost)")
    out = ctl.ok("reload")
    if "no change" not in out:
        raise TestFailure("ctl reload of the unchanged file: %r" % out)
    print("  ctl reload of the unchanged file: no change")

    got = raw(sock, b"invalidate " + b"a" * 2000 + b"\n")
    if not got.startswith("error\nrequest longer than 1024 bytes"):
        raise TestFailure("a 2 KB request line: %r" % got)
    got = raw(sock, b"status\x07\n")
    if got != "error\ncontrol character in the request\n":
        raise TestFailure("a control character: %r" % got)
    got = raw(sock, b"GET / HTTP/1.1\r\n")
    if not got.startswith("error\nunknown command GET"):
        raise TestFailure("an HTTP request: %r" % got)
    t0 = time.monotonic()
    got = raw(sock, b"", timeout=STEP)
    if not got.startswith("error\nno request line within"):
        raise TestFailure("a silent client: %r" % got)
    print("  raw clients: a line past the bound, a control character, HTTP, silence "
          "(answered after %.1f s): error" % (time.monotonic() - t0))
    ctl.ok("status")  # the channel still answers


async def no_push(bot, seconds):
    """The client gets no roster push for `seconds` (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            push = await asyncio.wait_for(bot.pushes.get(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            return
        if push["type"] == "set":
            raise TestFailure("%s: a roster push before the invalidation: %s"
                              % (bot.boundjid, push))


async def clients(port, ctl, db_path, svc):
    bots = []
    try:
        alice = await login(port, "alice@localhost/ctl", "rasmuslerdorf")
        bots.append(alice)
        contacts = sorted(j for j in alice.client_roster.keys() if j != "alice@localhost")
        if contacts != ["bob@localhost", "legacy@localhost"]:
            raise TestFailure("alice's roster: %s" % contacts)
        ann = await login(port, "ann@web.test/ctl", "ann-pw")
        bots.append(ann)
        if sorted(ann.client_roster.keys()) != ["bob@web.test"]:
            raise TestFailure("ann's roster: %s" % sorted(ann.client_roster.keys()))

        def sql(statement):
            c = sqlite3.connect(db_path)
            c.execute(statement)
            c.commit()
            c.close()

        sql(ADD_DAVE)
        await no_push(alice, 1.5)
        print("  a row added to friendships: no push while the rows are cached "
              "(cache_ttl = 3600, no polling)")
        loop = asyncio.get_event_loop()
        out = await loop.run_in_executor(None, ctl.ok, "invalidate", "alice@localhost")
        if "localhost: invalidated alice@localhost" not in out:
            raise TestFailure("ctl invalidate alice@localhost said %r" % out)
        t0 = time.monotonic()
        await expect_pushes(alice, {"dave@localhost": "both"})
        print("  ctl invalidate alice@localhost -> roster push of dave to her online "
              "client (%.2f s)" % (time.monotonic() - t0))

        sql(DROP_BOB)
        out = await loop.run_in_executor(None, ctl.ok, "invalidate", "localhost")
        if "localhost: invalidated every user" not in out:
            raise TestFailure("ctl invalidate localhost said %r" % out)
        await expect_pushes(alice, {"bob@localhost": "remove"})
        print("  friendship deleted, ctl invalidate localhost -> push removing bob")

        with svc.lock:
            svc.rosters["ann"] = {"carol@web.test": {"name": "Carol", "groups": ["Web"]}}
        out = await loop.run_in_executor(None, ctl.ok, "invalidate", "--all")
        for want in ("localhost: invalidated every user", "web.test: invalidated every user"):
            if want not in out:
                raise TestFailure("ctl invalidate --all lacks %r: %r" % (want, out))
        await expect_pushes(ann, {"carol@web.test": "both", "bob@web.test": "remove"})
        print("  http: the service's roster changed, ctl invalidate --all -> pushes "
              "(carol added, bob removed)")
        out = await loop.run_in_executor(None, ctl.ok, "status")
        if "sessions: 2 of 2 user(s)" not in out:
            raise TestFailure("ctl status with alice and ann online: %r" % out)
    finally:
        for b in bots:
            b.disconnect()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def small_config(tmp, name, control_line):
    data = os.path.join(tmp, "data-" + name)
    os.makedirs(data, exist_ok=True)
    path = os.path.join(tmp, name + ".toml")
    write(path, """[server]
data_dir = "%s"
%s

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = 0

[[vhost]]
domain = "localhost"
""" % (data, control_line))
    return path


def start_refused(binary, config, want):
    p = subprocess.run([binary, "--config", config], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=STEP + 20)
    text = p.stdout + p.stderr
    if p.returncode != 1 or want not in text:
        raise TestFailure("start with %s: exit %d, expected 1 and %r:\n%s"
                          % (config, p.returncode, want, text[-2000:]))


def wait_ready(ctl, proc):
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TestFailure("the server exited (%s) during its start" % proc.returncode)
        if ctl("status")[0] == 0:
            return
        time.sleep(0.05)
    raise TestFailure("ctl status did not answer within %ds of the start" % STEP)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STEP)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise TestFailure("the server did not stop within %ds of SIGTERM" % STEP)


def start_checks(binary, tmp):
    sock = os.path.join(tmp, "c.sock")
    # A socket file nobody accepts on: what a killed server leaves.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    first = small_config(tmp, "first", 'control_socket = "%s"' % sock)
    log = open(os.path.join(tmp, "first.log"), "wb")
    proc = subprocess.Popen([binary, "--config", first], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        ctl = Ctl(binary, first)
        wait_ready(ctl, proc)
        print("  a stale socket file is replaced at the start")
        second = small_config(tmp, "second", 'control_socket = "%s"' % sock)
        start_refused(binary, second, "second.toml:3: server.control_socket: cannot create "
                      "%s: another server is running with this control socket" % sock)
        print("  a second server on a live socket: refused at the start")
    finally:
        stop(proc)
        log.close()
    if os.path.exists(sock):
        raise TestFailure("the control socket %s is still there after the stop" % sock)
    missing = small_config(tmp, "missing", 'control_socket = "%s/no/such/dir/c.sock"' % tmp)
    start_refused(binary, missing, "missing.toml:3: server.control_socket: cannot create "
                  "%s/no/such/dir/c.sock: No such file or directory" % tmp)
    plain = os.path.join(tmp, "plain-file")
    write(plain, "not a socket\n")
    regular = small_config(tmp, "regular", 'control_socket = "%s"' % plain)
    start_refused(binary, regular, "regular.toml:3: server.control_socket: cannot create "
                  "%s: a file that is not a socket is there (not removed)" % plain)
    if not os.path.exists(plain):
        raise TestFailure("the server removed a regular file at control_socket")
    long_path = small_config(tmp, "long", 'control_socket = "/%s"' % ("x" * 120))
    start_refused(binary, long_path, "long.toml:3: server.control_socket: a path of at most 107 bytes")
    print("  control_socket in a missing directory, on a regular file, too long: "
          "refused at the start with FILE:LINE")
    off = small_config(tmp, "off", 'control_socket = ""')
    proc = subprocess.Popen([binary, "--config", off], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ctl = Ctl(binary, off)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None:
            raise TestFailure("control_socket = \"\": the server exited (%s)" % proc.returncode)
        ctl.refused(["status"], "has no control socket (server.control_socket = \"\")")
        if os.path.exists(os.path.join(tmp, "data-off", "control.sock")):
            raise TestFailure("control_socket = \"\" still made data_dir/control.sock")
    finally:
        stop(proc)
    print("  control_socket = \"\": no socket, ctl says so")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=150)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    binary = os.path.abspath(args.server)
    svc = Service(("web.test",)).start()
    svc.accounts["ann"] = "ann-pw"
    svc.rosters["ann"] = {"bob@web.test": {"name": "Bob"}}
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="dja-ctl-") as tmp:
            db_path = os.path.join(tmp, "site.sqlite")
            con = sqlite3.connect(db_path)
            con.executescript(site.schema("sqlite"))
            con.close()
            template = os.path.join(tmp, "template.toml")
            write(template, site_config(db_path, svc))
            server = ss.Server(binary, template)
            server.start()
            config = os.path.join(server.tmp, "server.toml")
            sock = os.path.join(server.tmp, "data", "control.sock")
            ctl = Ctl(binary, config)
            print("the running server (sql on localhost, http on web.test):")
            commands(ctl, sock)
            cl.run(clients(server.port, ctl, db_path, svc), 60)
            problem = server.stop()
            if problem:
                raise TestFailure(problem)
            if os.path.exists(sock):
                raise TestFailure("the control socket is still there after the stop")
            ctl.refused(["status"], "server not running: cannot connect to %s" % sock)
            print("  stopped: the socket is removed; ctl status: \"server not running\", exit 1")
            print("the start:")
            start_checks(binary, tmp)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, ss.Failure, subprocess.TimeoutExpired) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- server log (%s) ---" % server.log_path)
            print(server.log_tail(60))
        return 1
    finally:
        if server is not None:
            server.stop()
            server.cleanup()
        svc.stop()


if __name__ == "__main__":
    sys.exit(main())
