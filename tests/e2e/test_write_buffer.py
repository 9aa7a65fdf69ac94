#!/usr/bin/python3
"""End-to-end test of limits.write_buffer (issue 18, part 1): a client that
never reads costs the server at most its write buffer, is disconnected
past it, and the messages it was sent and did not get reach offline
storage instead of vanishing (RFC 6121 §8.5.2).

For each transport (plain TCP with PLAIN, and direct TLS, XEP-0368):
bob logs in with a small receive buffer, sends his initial presence and
then stops reading. alice (plain TCP, no shaper: c2s_rate = 0) sends
MESSAGES chat messages of about 60 KB each to bob's bare JID, then an
iq ping; the server must cut bob off once what waits for him passes
write_buffer. Then:
  - the server's peak RSS (VmHWM) stays within a few write buffers of
    what it held before the flood (a generous bound: no timing);
  - bob reads what his socket still holds (everything the server handed
    to the kernel before the cut);
  - bob logs in again: offline storage has the rest. Every message sent
    is either in what bob read or in what offline storage gave him, and
    none is in both.

    /usr/bin/python3 tests/e2e/test_write_buffer.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the end of the server log.
Every wait is bounded, the whole test by --limit (180 s).
"""

import argparse
import os
import re
import signal
import ssl
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import scn_server as ss  # noqa: E402  (Server: free port + temp config)
from scn_xml import Failure  # noqa: E402
sys.path.insert(0, HERE)
import raw_client  # noqa: E402
from raw_client import Failure as TestFailure  # noqa: E402

NAME = "test_write_buffer"
DOMAIN = "localhost"
WRITE_BUFFER = 1024 * 1024
MESSAGES = 160          # x 60 KB: 9.6 MB, far past buffer + kernel queues
BODY = 60 * 1024
STEP = 20.0

CONFIG = """# written by tests/e2e/test_write_buffer.py
[server]
log_level = "info"
data_dir  = "@DATA_DIR@"

[limits]
write_buffer = %d
c2s_rate = 0

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@
allow_plain_without_tls = true

[[listen]]
kind    = "c2s_tls"
address = "127.0.0.1"
port    = @TLS_PORT@

[[vhost]]
domain   = "localhost"
tls_cert = "@CERT@"
tls_key  = "@KEY@"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { alice = "pw", bob = "pw" }
  [[vhost.plugin]]
  type = "offline.sqlite"
  max_messages = 100000
  [[vhost.plugin]]
  type = "ping"
""" % WRITE_BUFFER




def Client(port, user, **kw):
    """A raw c2s stream on this test's domain (tests/e2e/raw_client.py)."""
    return raw_client.Client(port, user, DOMAIN, STEP, **kw)


TOKEN = re.compile(r"tok-(\d+)-(\d+)</body>")


def tokens(text, run):
    return {int(n) for r, n in TOKEN.findall(text) if int(r) == run}


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise TestFailure("no %s in /proc/%d/status" % (key, pid))


def log_has(server, pattern, start):
    with open(server.log_path, "rb") as f:
        f.seek(start)
        return re.search(pattern, f.read().decode("utf-8", "replace"))


def wait_log(server, pattern, start, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = log_has(server, pattern, start)
        if m:
            return m
        time.sleep(0.1)
    raise TestFailure("no log line %r within %.0fs" % (pattern, timeout))


def run(server, run_no, tls):
    label = "TLS" if tls else "plain"
    port = server.tls_port if tls else server.port
    pid = server.proc.pid
    log_start = os.path.getsize(server.log_path)
    bob = Client(port, "bob", tls=tls, rcvbuf=4096)
    bob.send("<presence/>")
    bob.send("<iq type='get' id='p0'><ping xmlns='urn:xmpp:ping'/></iq>")
    bob.expect(r"id=['\"]p0['\"]")
    alice = Client(server.port, "alice")
    base = status(pid, "VmRSS")
    # From here on bob reads nothing.
    sent = set()
    pad = "x" * BODY

    def flood():
        for n in range(MESSAGES):
            sent.add(n)
            alice.send("<message type='chat' to='bob@%s'><body>%s tok-%d-%d"
                       "</body></message>" % (DOMAIN, pad, run_no, n))
        alice.send("<iq type='get' id='done'><ping xmlns='urn:xmpp:ping'/>"
                   "</iq>")
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    # The server's RSS until bob is cut: what he costs while attached.
    # (After the cut alice's messages queue for offline storage, which
    # is slower than she sends with the shaper off: that is storage's
    # cost, not the write buffer's, so it is only reported.)
    attached_peak = base
    cut = None
    deadline = time.monotonic() + STEP * 3
    while cut is None and time.monotonic() < deadline:
        attached_peak = max(attached_peak, status(pid, "VmRSS"))
        cut = log_has(server, r"disconnected \S+ write buffer over",
                      log_start)
        time.sleep(0.005)
    t.join(STEP * 3)
    if t.is_alive():
        raise TestFailure("%s: alice could not send %d messages within %.0fs "
                          "(the server stopped reading her)"
                          % (label, MESSAGES, STEP * 3))
    alice.expect(r"id=['\"]done['\"]", STEP * 2)
    cut = cut or wait_log(server, r"disconnected \S+ write buffer over",
                          log_start, STEP)
    grown = attached_peak - base
    total = status(pid, "VmHWM") - base
    # bob reads what the server had handed to the kernel before the cut.
    if not bob.read_until_closed(STEP):
        raise TestFailure("bob: the stream was not closed within %.0fs" % STEP)
    read = tokens(bob.buf, run_no)
    bob.sock.close()
    # Offline storage has the rest (RFC 6121 §8.5.2.1.1 / XEP-0160).
    bob2 = Client(port, "bob", tls=tls, resource="again")
    bob2.send("<presence/>")
    bob2.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
    bob2.expect(r"id=['\"]p1['\"]")
    quiet_until = time.monotonic() + 1.0   # bounded: until 1 s quiet
    hard = time.monotonic() + STEP
    while time.monotonic() < min(quiet_until, hard):
        before = len(bob2.buf)
        if not bob2.read(0.2):
            break
        if len(bob2.buf) != before:
            quiet_until = time.monotonic() + 1.0
    stored = tokens(bob2.buf, run_no)
    bob2.close()
    alice.close()
    print("%s: sent %d, bob read %d before the cut, offline gave %d; "
          "server RSS %.1f MB before, +%.1f MB until the cut, peak +%.1f MB "
          "with the offline queue (write_buffer %.1f MB)"
          % (label, len(sent), len(read), len(stored), base / 1e6,
             grown / 1e6, total / 1e6, WRITE_BUFFER / 1e6))
    if not cut:
        raise TestFailure("%s: bob was not disconnected" % label)
    if read & stored:
        raise TestFailure("%s: %d messages both read and stored (e.g. %s)"
                          % (label, len(read & stored),
                             sorted(read & stored)[:5]))
    lost = sent - read - stored
    if lost:
        raise TestFailure("%s: %d messages lost (e.g. %s)"
                          % (label, len(lost), sorted(lost)[:5]))
    if not stored:
        raise TestFailure("%s: nothing went to offline storage" % label)
    # Generous: the bound itself, the stanzas behind it, allocator slack.
    if grown > 3 * WRITE_BUFFER + 4 * 1024 * 1024:
        raise TestFailure("%s: the server grew by %.1f MB for a client that "
                          "does not read (write_buffer %.1f MB)"
                          % (label, grown / 1e6, WRITE_BUFFER / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=180)
    args = ap.parse_args()

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    fd, template = tempfile.mkstemp(prefix="dja-wbuf-", suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write(CONFIG)
    server = None
    try:
        server = ss.Server(os.path.abspath(args.server), template)
        server.start()
        run(server, 1, tls=False)
        run(server, 2, tls=True)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, Failure, OSError, ssl.SSLError) as e:
        print("FAIL %s: %s" % (NAME, e))
        if server is not None and server.log_path:
            print("--- last lines of the server log (%s) ---"
                  % server.log_path)
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
