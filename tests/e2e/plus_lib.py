"""Shared by tests/e2e/test_plus_*.py: a real client library logs in over
STARTTLS to a server whose listener leaves sasl_channel_binding at its
default ("tls1.2": SCRAM-*-PLUS offered over TLS 1.2, not over 1.3;
scenarios/configs/tls-plus-default.toml), once per TLS version the library
lets the test choose. The server's log line
at authentication success says what was really used:

    authenticated 127.0.0.1:PORT as alice@localhost
        (SCRAM-SHA-1-PLUS, channel binding tls-unique, TLSv1.2)

Each test states what its library must end up with (mechanism, channel-
binding type or None, TLS version) and this module checks it, prints one
result line per login, and exits 0 (pass), 1 (fail) or 77 (library not
installed: skipped, with the reason).

A library's login function: login(host, port, jid, password, case,
verbose) runs one login and returns when the session is established (a
bound resource), raising LoginFailed otherwise. `case` is a key of the
test's EXPECTED: "1.2" or "1.3" (the TLS version the client must not
leave), optionally followed by a word naming a variant of the login
("1.2 scram-plus"). Each case logs in as another account.
"""

import argparse
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: ports, certificate, temp config)

CONFIG = os.path.join(REPO, "scenarios", "configs", "tls-plus-default.toml")
DOMAIN = "localhost"
SKIP = 77
STEP = 20  # seconds for one login

AUTH_RX = re.compile(r"authenticated \S+ as (?P<who>\S+) \((?P<mech>[A-Z0-9-]+)"
                     r"(?:, channel binding (?P<cb>[a-z-]+))?, (?P<tls>TLSv[\d.]+)\)")


class LoginFailed(Exception):
    pass


class Unavailable(Exception):
    """The library (or a tool it needs) is not installed: skip."""


def server_logins(server):
    """{bare JID: (mechanism, cb type or None, TLS version)} from the log."""
    out = {}
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = AUTH_RX.search(line)
            if m:
                out[m.group("who").split("/")[0]] = (m.group("mech"), m.group("cb"), m.group("tls"))
    return out


def main(name, login, expected, prepare=None):
    """`expected`: {"1.2": (mechanism, cb type or None), "1.3": ...}, one
    entry per TLS version the library can be made to use (and per variant,
    see the module's doc). `prepare()` runs
    first (compiling a client, say) and may raise Unavailable."""
    ap = argparse.ArgumentParser(description="%s logs in with SCRAM -PLUS on" % name)
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
    ap.add_argument("--limit", type=int, default=120, help="hard time limit in seconds")
    ap.add_argument("-v", "--verbose", action="store_true", help="the client library's debug output")
    args = ap.parse_args()

    def on_alarm(_sig, _frm):
        raise LoginFailed("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    test = "test_plus_%s" % name
    server = None
    try:
        if prepare is not None:
            prepare()
        server = sr.Server(os.path.abspath(args.server), CONFIG)
        server.start()
        print("server: STARTTLS required on 127.0.0.1:%d, -PLUS by default (log %s)" % (
            server.port, server.log_path))
        users = iter(("alice", "bob", "carol", "dave", "erin", "frank"))
        problems = []
        for case, (mech, cb) in sorted(expected.items()):
            version = case.split()[0]
            user = next(users)
            jid = "%s@%s" % (user, DOMAIN)
            started = time.monotonic()
            try:
                login("127.0.0.1", server.port, jid, "pw", case, args.verbose)
            except LoginFailed as e:
                problems.append("TLS %s: %s did not log in: %s" % (case, jid, e))
                continue
            got = server_logins(server).get(jid)
            if got is None:
                problems.append("TLS %s: %s logged in but the server log has no "
                                "'authenticated' line for it" % (version, jid))
                continue
            print("%s, TLS %s: %s%s over %s (%.1f s)" % (
                name, case, got[0], ", channel binding %s" % got[1] if got[1] else ", no channel binding",
                got[2], time.monotonic() - started))
            want = (mech, cb, "TLSv" + version)
            if got != want:
                problems.append("TLS %s: the server saw %s, expected %s" % (case, got, want))
        if server.proc.poll() is not None:
            problems.append("the server exited during the test (status %s)" % server.proc.returncode)
        problem = server.stop()
        if problem:
            problems.append(problem)
        if problems:
            raise LoginFailed("; ".join(problems))
        print("PASS %s" % test)
        return 0
    except Unavailable as e:
        print("SKIP %s: %s" % (test, e))
        return SKIP
    except (LoginFailed, sr.Failure) as e:
        print("FAIL %s: %s" % (test, e))
        if server is not None:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(30))
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
            server.cleanup()


def run_program(argv, env_extra=None, timeout=STEP, verbose=False):
    """Runs a client program; LoginFailed with its output unless it exits 0."""
    import subprocess
    env = dict(os.environ)
    env.update(env_extra or {})
    try:
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        raise LoginFailed("no session within %d s\n%s" % (timeout, out[-3000:]))
    out = p.stdout.decode("utf-8", "replace")
    if verbose:
        print(out)
    if p.returncode != 0:
        raise LoginFailed("exit status %d\n%s" % (p.returncode, out[-3000:]))
    return out


def compile_client(source, compiler, pkg, out_name):
    """Compiles tests/e2e/clients/SOURCE against pkg-config package PKG
    into a temporary directory; Unavailable if the library is missing."""
    import shutil
    import subprocess
    import tempfile
    if shutil.which(compiler) is None or shutil.which("pkg-config") is None:
        raise Unavailable("%s or pkg-config is not installed" % compiler)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pkg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    if flags.returncode != 0:
        raise Unavailable("pkg-config knows no %s (apt-get install lib%s-dev; tools/setup.sh --test)"
                          % (pkg, pkg))
    out = os.path.join(tempfile.mkdtemp(prefix="dja-plus-"), out_name)
    cmd = [compiler, "-O1", "-o", out, os.path.join(HERE, "clients", source)]
    cmd += flags.stdout.decode().split()
    if compiler.endswith("++"):
        cmd.insert(1, "-std=c++17")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise LoginFailed("compiling %s failed:\n%s" % (source, p.stdout.decode("utf-8", "replace")))
    return out


def openssl_conf(version):
    """An OPENSSL_CONF file that pins OpenSSL clients (libstrophe) to one
    TLS version through the system_default section."""
    import tempfile
    v = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}[version]
    fd, path = tempfile.mkstemp(prefix="dja-openssl-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sd\n"
                "[sd]\nMinProtocol = %s\nMaxProtocol = %s\n" % (v, v))
    return path


def gnutls_priority_file(version):
    """A GNUTLS_SYSTEM_PRIORITY_FILE for GnuTLS clients (gloox, GLib's
    glib-networking): for "1.2" it disables TLS 1.3; for "1.3" it disables
    nothing (GnuTLS 3.7 prefers 1.3, and disabling 1.2 as well leaves
    GnuTLS clients with no usable version; the server's log line shows the
    version really used, and main() checks it)."""
    import tempfile
    fd, path = tempfile.mkstemp(prefix="dja-gnutls-", suffix=".cfg")
    with os.fdopen(fd, "w") as f:
        if version == "1.2":
            f.write("[overrides]\ndisabled-version = tls1.3\n")
    return path
