#!/usr/bin/python3
"""End-to-end TLS test with OpenSSL's own client (`openssl s_client`).

Starts djabberd-actors with scenarios/configs/tls-required.toml (the scenario
runner's self-signed certificate, CN=localhost; STARTTLS required on one
port, direct TLS on a second) and runs

    openssl s_client -starttls xmpp -xmpphost localhost -connect 127.0.0.1:PORT -quiet

(s_client does the XMPP STARTTLS negotiation and the handshake itself), then
feeds it, over the encrypted stream: a stream header, SASL PLAIN for alice,
a stream restart and the closing </stream:stream>. Checks:
  * the features after TLS offer PLAIN, the <auth/> gets <success/>, the
    restarted stream offers resource binding, the server closes the stream;
  * the certificate subject s_client prints is CN = localhost;
  * the same over direct TLS (`-connect 127.0.0.1:TLS_PORT -servername localhost`).
A missing TLS close_notify at the end (s_client: "unexpected eof", exit
status 1) is reported as a note, not a failure.

    /usr/bin/python3 tests/e2e/test_openssl_starttls.py --server build/djabberd-actors

Exits 0 on success; otherwise prints the reason, the s_client output and the
end of the server log, and exits 1. Each step is bounded; the whole test has
a hard limit (--limit, default 60 s).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: ports, certificate, temp config, start/stop)

DOMAIN = "localhost"
STEP = 10  # seconds per step
CONFIG = os.path.join(REPO, "scenarios", "configs", "tls-required.toml")
HEADER = ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xml:lang='en' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams'>" % DOMAIN)
PLAIN_ALICE = "AGFsaWNlAHB3"  # base64("\0alice\0pw")


class TestFailure(Exception):
    pass


class SClient:
    """openssl s_client as a subprocess; stdout and stderr collected by
    threads so that every wait is bounded."""

    def __init__(self, args, label):
        self.label = label
        self.cmd = ["timeout", "-k", "2", "30", "openssl", "s_client"] + args + ["-quiet"]
        self.out = b""
        self.err = b""
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.threads = [threading.Thread(target=self._read, args=(self.proc.stdout, "out"), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, "err"), daemon=True)]
        for t in self.threads:
            t.start()

    def _read(self, f, which):
        while True:
            data = f.read1(65536) if hasattr(f, "read1") else f.read(1)
            if not data:
                return
            with self.lock:
                setattr(self, which, getattr(self, which) + data)

    def text(self, which="out"):
        with self.lock:
            return getattr(self, which).decode("utf-8", "replace")

    def send(self, data):
        try:
            self.proc.stdin.write(data.encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise TestFailure("%s: s_client stopped reading (%s)" % (self.label, e))

    def wait_for(self, rx, what, start=0):
        """Waits until stdout (from offset `start`) matches `rx`; returns the
        match end offset."""
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            m = re.search(rx, self.text()[start:], re.S)
            if m:
                return start + m.end()
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the readers drain
                m = re.search(rx, self.text()[start:], re.S)
                if m:
                    return start + m.end()
                raise TestFailure("%s: s_client exited (status %s) before %s" % (
                    self.label, self.proc.returncode, what))
            time.sleep(0.02)
        raise TestFailure("%s: no %s within %ds" % (self.label, what, STEP))

    def finish(self):
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout=STEP)
            for t in self.threads:
                t.join(2)
            return rc
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise TestFailure("%s: s_client did not exit within %ds after the stream was closed" % (
                self.label, STEP))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def dump(self):
        return "--- %s: %s ---\nstdout:\n%s\nstderr:\n%s" % (
            self.label, " ".join(self.cmd), self.text("out")[-3000:], self.text("err")[-3000:])


def session(args, label):
    """One login through s_client: header, PLAIN, restart, close. Returns
    notes (strings) about non-fatal observations."""
    notes = []
    c = SClient(args, label)
    try:
        c.send(HEADER)
        pos = c.wait_for(r"<stream:features>.*?</stream:features>", "stream features after TLS")
        feats = c.text()[:pos]
        if "<starttls" in feats[feats.rfind("<stream:features>"):]:
            raise TestFailure("%s: <starttls/> offered again after TLS" % label)
        if "<mechanism>PLAIN</mechanism>" not in feats:
            raise TestFailure("%s: PLAIN not offered over TLS" % label)
        c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % PLAIN_ALICE)
        pos = c.wait_for(r"<(success|failure)\b[^>]*?(/>|>.*?</\1>)", "answer to <auth/>", pos)
        answer = re.findall(r"<(success|failure)\b", c.text()[:pos])[-1]
        if answer != "success":
            raise TestFailure("%s: PLAIN over TLS failed: %s" % (label, c.text()[:pos][-200:]))
        print("%s: <success/> for alice" % label)
        c.send(HEADER)
        pos = c.wait_for(r"<stream:features>.*?<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'", "bind feature after "
                         "the restart", pos)
        c.send("</stream:stream>")
        c.wait_for(r"</stream:stream>", "</stream:stream> from the server", pos)
        rc = c.finish()
        err = c.text("err")
        m = re.search(r"depth=0 (.+)", err)
        if not m:
            raise TestFailure("%s: s_client printed no certificate subject" % label)
        subject = m.group(1).strip()
        if not re.fullmatch(r"CN ?= ?localhost", subject):
            raise TestFailure("%s: certificate subject %r, expected CN = localhost" % (label, subject))
        print("%s: certificate subject: %s" % (label, subject))
        if rc != 0:
            if "unexpected eof" in err:
                notes.append("%s: the server closed the TCP connection without a TLS close_notify alert "
                             "(RFC 8446 §6.1); s_client: unexpected eof while reading, exit status %d" % (label, rc))
            else:
                raise TestFailure("%s: s_client exit status %d" % (label, rc))
        return notes
    except TestFailure:
        print(c.dump())
        raise
    finally:
        c.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
    ap.add_argument("--limit", type=int, default=60, help="hard time limit in seconds (default 60)")
    args = ap.parse_args()

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)

    server = None
    try:
        if shutil.which("openssl") is None or shutil.which("timeout") is None:
            raise TestFailure("openssl and timeout (coreutils) are needed")
        binary = os.path.abspath(args.server)
        if not os.access(binary, os.X_OK):
            raise TestFailure("server binary not found: %s" % binary)
        server = sr.Server(binary, CONFIG)
        server.start()
        print("server started: STARTTLS (required) on 127.0.0.1:%d, direct TLS on %d (log %s)" % (
            server.port, server.tls_port, server.log_path))
        notes = session(["-starttls", "xmpp", "-xmpphost", DOMAIN, "-connect", "127.0.0.1:%d" % server.port],
                        "STARTTLS")
        notes += session(["-connect", "127.0.0.1:%d" % server.tls_port, "-servername", DOMAIN], "direct TLS")
        if server.proc.poll() is not None:
            raise TestFailure("the server exited during the test (status %s)" % server.proc.returncode)
        with open(server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        n = len(re.findall(r"authenticated \S+ as alice@localhost \(PLAIN, TLSv1\.[23]\)", log))
        if n != 2:
            raise TestFailure("server log: %d lines 'authenticated ... as alice@localhost (PLAIN, TLSv1.x)', "
                              "expected 2" % n)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        signal.alarm(0)
        for n in notes:
            print("note: %s" % n)
        print("PASS test_openssl_starttls")
        return 0
    except (TestFailure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL test_openssl_starttls: %s" % e)
        if server is not None:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
