#!/usr/bin/python3
"""End-to-end fault test: a graceful stop (SIGTERM) under load stores or
bounces every accepted message, and kill -9 under load leaves the SQLite
databases intact with every message already stored still there (issue 18,
Faults).

SIGTERM part: SENDERS senders (raw sockets, SASL PLAIN on plain TCP) send
MESSAGES chat messages each to RECEIVERS offline users, then an iq ping;
once every sender has its pong (so the server has accepted every message:
the session handles a stream's stanzas in order) the server gets SIGTERM
at once, while most messages are still on their way to offline.sqlite.
The senders keep reading until their stream closes (bounces), the server
is started again, every receiver logs in and collects its offline
messages. stored + bounced must equal sent.

kill -9 part: a first batch is sent and waited for until offline.sqlite
holds it (read-only queries of the database: the acknowledgement), a
second batch is sent and the server is killed with SIGKILL in the middle.
After the restart every SQLite file passes `PRAGMA integrity_check` and
every message of the first batch is delivered.

    /usr/bin/python3 tests/e2e/test_shutdown_drain.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the end of the server log.
Every wait is bounded, the whole test by --limit (120 s).
"""

import argparse
import glob
import os
import re
import signal
import socket
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import scn_server as ss  # noqa: E402  (Server: free port + temp config)
from scn_xml import Failure  # noqa: E402
sys.path.insert(0, HERE)
import raw_client  # noqa: E402
from raw_client import Failure as TestFailure  # noqa: E402

NAME = "test_shutdown_drain"
DOMAIN = "localhost"
SENDERS = 6
RECEIVERS = 20
MESSAGES = 300  # per sender: 1,800 in all, as in the issue
STEP = 15.0

CONFIG = """# written by tests/e2e/test_shutdown_drain.py
[server]
log_level = "info"
data_dir  = "@DATA_DIR@"
shutdown_timeout = 20

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { %s }
  [[vhost.plugin]]
  type = "offline.sqlite"
  max_messages = 10000
  [[vhost.plugin]]
  type = "ping"
"""




def Client(port, user, **kw):
    """A raw c2s stream on this test's domain (tests/e2e/raw_client.py)."""
    return raw_client.Client(port, user, DOMAIN, STEP, **kw)


TOKEN = re.compile(r"tok-(\d+)-(\d+)-(\d+)")


def tokens(text):
    return set(TOKEN.findall(text))


def send_batch(port, batch, count):
    """Every sender sends `count` messages round-robin to the receivers and
    an iq ping; returns the connected senders (pongs received) and the set
    of tokens sent."""
    senders = [Client(port, "s%d" % i) for i in range(SENDERS)]
    sent = set()
    for i, c in enumerate(senders):
        out = []
        for n in range(count):
            tok = (str(batch), str(i), str(n))
            sent.add(tok)
            out.append("<message type='chat' to='u%d@%s'><body>tok-%s"
                       "</body></message>"
                       % ((i * count + n) % RECEIVERS, DOMAIN, "-".join(tok)))
        out.append("<iq type='get' id='ack'><ping xmlns='urn:xmpp:ping'/>"
                   "</iq>")
        c.send("".join(out))
    for c in senders:
        c.expect(r"id=['\"]ack['\"]")
    return senders, sent


def collect_offline(port):
    """Logs every receiver in with presence; the tokens it gets."""
    got = set()
    for r in range(RECEIVERS):
        c = Client(port, "u%d" % r)
        c.send("<presence/>")
        # Offline messages arrive at once after the initial presence; a
        # ping after the presence comes back after them.
        c.send("<iq type='get' id='done'><ping xmlns='urn:xmpp:ping'/></iq>")
        c.expect(r"id=['\"]done['\"]")
        quiet_until = time.monotonic() + 1.0  # bounded: until 1 s quiet
        while time.monotonic() < quiet_until:
            before = len(c.buf)
            if not c.read(0.2):
                break
            if len(c.buf) != before:
                quiet_until = time.monotonic() + 1.0
        got |= tokens(c.buf)
        c.close()
    return got


def stored_count(data_dir):
    files = glob.glob(os.path.join(data_dir, "**", "offline*.sqlite"),
                      recursive=True)
    n = 0
    for f in files:
        db = sqlite3.connect("file:%s?mode=ro" % f, uri=True, timeout=5)
        try:
            n += db.execute("SELECT count(*) FROM offline_messages").fetchone()[0]
        except sqlite3.Error:
            pass
        finally:
            db.close()
    return n


def integrity(data_dir):
    files = glob.glob(os.path.join(data_dir, "**", "*.sqlite"), recursive=True)
    if not files:
        raise TestFailure("no SQLite file under %s" % data_dir)
    for f in files:
        db = sqlite3.connect(f, timeout=5)
        try:
            r = db.execute("PRAGMA integrity_check").fetchall()
        finally:
            db.close()
        if r != [("ok",)]:
            raise TestFailure("%s: integrity_check: %r" % (f, r))
    return files


def sigterm_part(server):
    senders, sent = send_batch(server.port, 1, MESSAGES)
    server.signal_term()
    for c in senders:
        c.read_until_closed(STEP)
    bounced = set()
    for c in senders:
        bounced |= tokens(c.buf)
    rc = server.wait_exit(30)
    if rc != 0:
        raise TestFailure("exit status after SIGTERM: %s (expected 0)" % rc)
    restart(server)
    stored = collect_offline(server.port) & sent
    lost = sent - stored - bounced
    print("SIGTERM: sent %d, stored %d, bounced %d, lost %d"
          % (len(sent), len(stored), len(bounced & sent), len(lost)))
    if lost:
        raise TestFailure("SIGTERM lost %d accepted messages (e.g. %s)"
                          % (len(lost), sorted(lost)[:3]))


def kill9_part(server):
    data = os.path.join(server.tmp, "data")
    senders, first = send_batch(server.port, 2, MESSAGES // 2)
    deadline = time.monotonic() + 30
    while stored_count(data) < len(first):
        if time.monotonic() > deadline:
            raise TestFailure("first batch not stored within 30 s")
        time.sleep(0.1)
    for c in senders:
        c.close()
    senders, second = send_batch(server.port, 3, MESSAGES)
    server.kill()
    for c in senders:
        c.sock.close()
    files = integrity(data)
    restart(server)
    files = integrity(data)
    got = collect_offline(server.port)
    missing = first - got
    print("kill -9: %d SQLite files pass integrity_check; acknowledged %d, "
          "delivered after restart %d of them (+%d of %d unacknowledged)"
          % (len(files), len(first), len(first & got), len(second & got),
             len(second)))
    if missing:
        raise TestFailure("kill -9 lost %d acknowledged messages"
                          % len(missing))


def restart(server):
    """Starts the stopped server again (same config, data dir, port)."""
    cfg = os.path.join(server.tmp, "server.toml")
    server.proc = ss.subprocess.Popen(
        [server.binary, "--config", cfg], cwd=server.tmp,
        stdin=ss.subprocess.DEVNULL, stdout=server.logf,
        stderr=ss.subprocess.STDOUT)
    deadline = time.monotonic() + STEP
    while True:
        try:
            socket.create_connection(("127.0.0.1", server.port), 0.5).close()
            return
        except OSError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise TestFailure("the server did not start again")
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=120)
    args = ap.parse_args()

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    users = ", ".join(['s%d = "pw"' % i for i in range(SENDERS)]
                      + ['u%d = "pw"' % i for i in range(RECEIVERS)])
    fd, template = tempfile.mkstemp(prefix="dja-drain-", suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write(CONFIG % users)
    server = None
    try:
        binary = os.path.abspath(args.server)
        server = ss.Server(binary, template)
        server.start()
        sigterm_part(server)
        kill9_part(server)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, Failure, OSError) as e:
        print("FAIL %s: %s" % (NAME, e))
        if server is not None:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        os.unlink(template)
        if server is not None:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
