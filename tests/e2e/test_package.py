#!/usr/bin/python3
"""The Debian package (cmake/package.cmake, config/debian/): built, checked,
installed, run as its systemd unit would run it, logged into, removed.

  1. `cpack -G DEB` on the build directory makes djabberd-actors_*.deb;
     its control data names the shared libraries it needs (dpkg-shlibdeps),
     the conffile /etc/djabberd-actors/server.toml and the maintainer
     scripts; its files are the binary, the config, the unit;
  2. the unit passes `systemd-analyze verify` (against the extracted
     package as root directory, so the binary named by ExecStart exists);
  3. as root, where /usr/bin/djabberd-actors is not someone else's:
     `apt-get install ./the.deb` (postinst: system user, state directory,
     a self-signed certificate); the packaged config passes the unit's
     ExecStartPre check; the server runs as the unit runs it (its user,
     WorkingDirectory, Type=notify: the test is the NOTIFY_SOCKET and
     must get READY=1) on a copy of the packaged config with free ports;
     `djabberd-actors user add` makes an account; slixmpp logs in over
     STARTTLS and sends itself a message; SIGTERM -> STOPPING=1, exit 0;
     `apt-get purge` removes the package, its user and its data.
Without root (or with a foreign /usr/bin/djabberd-actors) step 3 is
skipped with a line saying so.

    /usr/bin/python3 tests/e2e/test_package.py --server build/djabberd-actors

Exits 0 on success (77: cpack or dpkg-deb missing), 1 with the reason.
Every wait is bounded.
"""

import argparse
import asyncio
import glob
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import scn_server as ss  # noqa: E402  (free_port)

STEP = 30.0
USER = "djabberd-actors"


class Failure(Exception):
    pass


def run(args, timeout=300, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       **kw)
    if r.returncode != 0:
        raise Failure("%s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                             r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout


def build_deb(build_dir, out_dir):
    run(["cpack", "-G", "DEB", "--config",
         os.path.join(build_dir, "CPackConfig.cmake"), "-B", out_dir],
        timeout=600)
    debs = glob.glob(os.path.join(out_dir, "djabberd-actors_*.deb"))
    if len(debs) != 1:
        raise Failure("cpack made %r, not one djabberd-actors_*.deb" % debs)
    return debs[0]


def check_deb(deb, root):
    info = run(["dpkg-deb", "--info", deb])
    for want in (r"Package: djabberd-actors", r"Depends:.*libcaf",
                 r"Depends:.*libssl", r"Depends:.*adduser",
                 r"\bpostinst\b", r"\bpostrm\b", r"\bconffiles\b"):
        if not re.search(want, info):
            raise Failure("dpkg-deb --info: no %r in\n%s" % (want, info))
    files = run(["dpkg-deb", "--contents", deb])
    for want in ("./usr/bin/djabberd-actors",
                 "./etc/djabberd-actors/server.toml",
                 "./lib/systemd/system/djabberd-actors.service"):
        if want not in files:
            raise Failure("the package lacks %s" % want)
    run(["dpkg-deb", "--extract", deb, root])
    conf = open(os.path.join(root, "etc/djabberd-actors/server.toml")).read()
    for want in ('data_dir  = "/var/lib/djabberd-actors"',
                 '"/etc/djabberd-actors/tls/localhost.crt"'):
        if want not in conf:
            raise Failure("packaged server.toml lacks %s" % want)
    print("package: %s, %d KiB, Depends: %s" % (
        os.path.basename(deb), os.path.getsize(deb) // 1024,
        re.search(r"Depends: (.*)", info).group(1)[:120]))


def verify_unit(root, unit=None):
    """systemd-analyze verify: against the extracted package as root
    directory (`root`), or the installed unit (`unit`)."""
    if shutil.which("systemd-analyze") is None:
        print("package: systemd-analyze missing; unit not verified")
        return
    args = ["systemd-analyze", "verify", "--man=no"]
    if unit is None:
        unit = os.path.join(root, "lib/systemd/system/djabberd-actors.service")
        args.append("--root=" + root)
    r = subprocess.run(args + [unit], capture_output=True, text=True,
                       timeout=60)
    # Lines about units the extracted root does not have (sysinit.target,
    # network-online.target) are not about ours.
    ours = [ln for ln in (r.stdout + r.stderr).splitlines()
            if "djabberd-actors" in ln
            and not re.search(r"Unit [\w.-]+\.target not found", ln)]
    if r.returncode != 0 and ours:
        raise Failure("systemd-analyze verify:\n" + "\n".join(ours))
    print("package: systemd-analyze verify: ok (%s)" % (
        "; ".join(ours) if ours else "no remarks"))


def unit_value(root, key):
    text = open(os.path.join(
        root, "lib/systemd/system/djabberd-actors.service")).read()
    m = re.search(r"^%s=(.*)$" % key, text, re.M)
    if not m:
        raise Failure("unit has no %s=" % key)
    return m.group(1)


def foreign_binary():
    """True when /usr/bin/djabberd-actors exists and is not ours."""
    if not os.path.exists("/usr/bin/djabberd-actors"):
        return False
    r = subprocess.run(["dpkg", "-S", "/usr/bin/djabberd-actors"],
                       capture_output=True, text=True)
    return r.returncode != 0


class Notify:
    """The NOTIFY_SOCKET systemd would give a Type=notify service."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)

    def expect(self, what, timeout):
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            got.append(msg)
            if what in msg.split("\n"):
                return
        raise Failure("no %s on NOTIFY_SOCKET in %.0f s (got %r)"
                      % (what, timeout, got))


def login(port):
    import slixmpp

    class Bot(slixmpp.ClientXMPP):
        def __init__(self):
            super().__init__("alice@localhost/pkg", "secret-pw")
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE
            self.got = asyncio.get_event_loop().create_future()
            self.add_event_handler("session_start", self.start)
            self.add_event_handler("message", self.on_message)
            self.add_event_handler("failed_auth",
                                   lambda *_: self.fail("auth failed"))

        def fail(self, why):
            if not self.got.done():
                self.got.set_exception(Failure(why))

        async def start(self, _):
            self.send_presence()
            self.send_message(mto="alice@localhost/pkg", mbody="packaged")

        def on_message(self, msg):
            if msg["body"] == "packaged" and not self.got.done():
                self.got.set_result(True)

    bot = Bot()
    bot.connect(address=("127.0.0.1", port), force_starttls=True)
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(bot.got, STEP))
    except asyncio.TimeoutError:
        raise Failure("slixmpp: no login and message in %.0f s" % STEP)
    finally:
        bot.disconnect()
        loop.run_until_complete(asyncio.sleep(0.2))
    print("package: slixmpp logged in over STARTTLS and got its message")


def install_and_run(deb, root, tmp):
    r = subprocess.run(["apt-get", "install", "-y", "-q",
                        "--no-install-recommends", os.path.abspath(deb)],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if r.returncode != 0:
        raise Failure("apt-get install ./deb: exit %d\n%s%s"
                      % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    try:
        run_installed(root, tmp)
    finally:
        run(["apt-get", "purge", "-y", "-q", "djabberd-actors"], timeout=300,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    for gone in ("/usr/bin/djabberd-actors", "/var/lib/djabberd-actors"):
        if os.path.exists(gone):
            raise Failure("purge left %s" % gone)
    if subprocess.run(["getent", "passwd", USER]).returncode == 0:
        raise Failure("purge left the user %s" % USER)
    print("package: purged (binary, data and user gone)")


def run_installed(root, tmp):
    verify_unit(None, "/lib/systemd/system/djabberd-actors.service")
    if subprocess.run(["getent", "passwd", USER],
                      capture_output=True).returncode != 0:
        raise Failure("postinst made no user %s" % USER)
    st = os.stat("/var/lib/djabberd-actors")
    if st.st_mode & 0o777 != 0o750:
        raise Failure("/var/lib/djabberd-actors mode %o" % (st.st_mode & 0o777))
    for f in ("localhost.crt", "localhost.key"):
        if not os.path.exists("/etc/djabberd-actors/tls/" + f):
            raise Failure("postinst made no /etc/djabberd-actors/tls/" + f)
    # ExecStartPre, as the unit's user.
    as_user = ["setpriv", "--reuid=" + USER, "--regid=" + USER,
               "--init-groups", "--"]
    pre = unit_value(root, "ExecStartPre").split()
    run(as_user + pre, cwd="/var/lib/djabberd-actors")
    # The packaged config with free ports (5222/5223 may be taken here).
    conf_text = open("/etc/djabberd-actors/server.toml").read()
    c2s, tls = ss.free_port(), ss.free_port()
    conf_text = conf_text.replace("port     = 5222", "port     = %d" % c2s)
    conf_text = conf_text.replace("port    = 5223", "port    = %d" % tls)
    if str(c2s) not in conf_text or str(tls) not in conf_text:
        raise Failure("packaged config: the c2s ports were not found")
    conf_dir = os.path.join(tmp, "conf")
    os.makedirs(conf_dir)
    conf = os.path.join(conf_dir, "server.toml")
    open(conf, "w").write(conf_text)
    os.chmod(tmp, 0o755)
    os.chmod(conf_dir, 0o755)
    os.chmod(conf, 0o644)
    run(as_user + ["/usr/bin/djabberd-actors", "user", "add", "--config",
                   conf, "alice@localhost"], input="secret-pw\n",
        cwd="/var/lib/djabberd-actors")
    notify = Notify(os.path.join(tmp, "notify.sock"))
    exec_start = unit_value(root, "ExecStart").split()
    exec_start[exec_start.index("/etc/djabberd-actors/server.toml")] = conf
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen(as_user + exec_start, cwd="/var/lib/djabberd-actors",
                            stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NOTIFY_SOCKET=notify.path))
    try:
        notify.expect("READY=1", STEP)
        print("package: READY=1 from the server running as %s" % USER)
        login(c2s)
        proc.terminate()
        notify.expect("STOPPING=1", STEP)
        rc = proc.wait(timeout=STEP)
        if rc != 0:
            raise Failure("server exit %d after SIGTERM" % rc)
        print("package: SIGTERM -> STOPPING=1, exit 0")
    except Failure:
        log.flush()
        print(open(os.path.join(tmp, "server.log")).read()[-3000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STEP)
    db = "/var/lib/djabberd-actors/accounts.sqlite"
    if not os.path.exists(db) or os.stat(db).st_uid != \
            int(subprocess.check_output(["id", "-u", USER]).strip()):
        raise Failure("%s missing or not owned by %s" % (db, USER))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    build_dir = os.path.dirname(os.path.abspath(args.server))
    if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
        print("SKIP: cpack or dpkg-deb missing")
        return 77
    tmp = tempfile.mkdtemp(prefix="dja-pkg-")
    os.chmod(tmp, 0o755)  # the server's user reads its config below it
    try:
        deb = build_deb(build_dir, os.path.join(tmp, "out"))
        root = os.path.join(tmp, "root")
        check_deb(deb, root)
        verify_unit(root)
        if os.geteuid() != 0:
            print("package: not root; install and run skipped")
        elif foreign_binary():
            print("package: /usr/bin/djabberd-actors belongs to no package "
                  "here; install and run skipped")
        else:
            install_and_run(deb, root, os.path.join(tmp, "run"))
        print("package: ok")
        return 0
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAIL:", e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
