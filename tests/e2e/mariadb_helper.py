"""A private MariaDB server for the tests of the `sql` plugin.

MariaDB(tmp).start() runs Debian's mariadb-install-db and mariadbd
(package `mariadb-server`, installed by tools/setup.sh --test) with its own
data directory, pid file and Unix socket in a temporary directory, and no
TCP port at all (--skip-networking), so tests never collide with each
other or with a system server. As root, the server runs as `nobody`. It is
stopped by its own PID (never by name). Every wait is bounded.

    db = MariaDB()
    db.start()                   # install-db + mariadbd (a few seconds)
    db.sql("CREATE DATABASE site")
    dsn = db.dsn("site")         # for the plugin: socket=... user=... ...
    db.stop(); db.cleanup()

find_binaries() is None when the binaries are missing: the caller then
exits with SKIP (77).
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

SKIP = 77
STEP = 60  # seconds a start or a command may take
USER = "dja"
PASSWORD = "dja-test-pw"


def find_binaries():
    for d in ("/usr/sbin", "/usr/bin"):
        if os.access(os.path.join(d, "mariadbd"), os.X_OK) and shutil.which("mariadb-install-db") \
                and shutil.which("mariadb"):
            return os.path.join(d, "mariadbd")
    return None


class MariaDBError(Exception):
    pass


class MariaDB:
    def __init__(self):
        self.mariadbd = find_binaries()
        if self.mariadbd is None:
            raise MariaDBError("MariaDB binaries not found (apt-get install mariadb-server)")
        self.tmp = tempfile.mkdtemp(prefix="dja-mariadb-")
        self.data = os.path.join(self.tmp, "data")
        self.socket = os.path.join(self.tmp, "mysqld.sock")
        self.pidfile = os.path.join(self.tmp, "mysqld.pid")
        self.log = os.path.join(self.tmp, "mariadb.log")
        self.user = None
        if os.geteuid() == 0:
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755)
        self.proc = None
        self.installed = False

    def _owner_args(self):
        return ["--user=%s" % self.user] if self.user else []

    def start(self):
        if not self.installed:
            cmd = ["mariadb-install-db", "--no-defaults", "--datadir=%s" % self.data,
                   "--auth-root-authentication-method=socket", "--skip-test-db"] + self._owner_args()
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=STEP)
            if p.returncode != 0:
                raise MariaDBError("mariadb-install-db failed: %s" % p.stdout.decode(errors="replace")[-2000:])
            self.installed = True
        cmd = [self.mariadbd, "--no-defaults", "--datadir=%s" % self.data, "--socket=%s" % self.socket,
               "--pid-file=%s" % self.pidfile, "--skip-networking", "--log-error=%s" % self.log,
               "--innodb-buffer-pool-size=16M", "--skip-log-bin"] + self._owner_args()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MariaDBError("mariadbd exited (%d): %s" % (self.proc.returncode, self.log_tail()))
            rc = subprocess.run(["mariadb", "--no-defaults", "--socket=%s" % self.socket, "-uroot",
                                 "-e", "SELECT 1"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=STEP).returncode
            if rc == 0:
                return
            time.sleep(0.2)
        raise MariaDBError("mariadbd did not accept connections within %ds" % STEP)

    def sql(self, text, db=None):
        """Runs SQL as root over the socket; returns the output (tab-separated)."""
        cmd = ["mariadb", "--no-defaults", "--socket=%s" % self.socket, "-uroot", "-N", "-B"]
        if db:
            cmd.append(db)
        p = subprocess.run(cmd, input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=STEP)
        out = p.stdout.decode(errors="replace")
        if p.returncode != 0:
            raise MariaDBError("mariadb failed: %s" % out.strip())
        return out.strip()

    def create_site(self, name, schema_sql):
        """A database `name` with `schema_sql`, readable and writable by USER."""
        self.sql("CREATE DATABASE %s CHARACTER SET utf8mb4;\n"
                 "CREATE USER IF NOT EXISTS '%s'@'localhost' IDENTIFIED BY '%s';\n"
                 "GRANT SELECT, INSERT, UPDATE, DELETE ON %s.* TO '%s'@'localhost';"
                 % (name, USER, PASSWORD, name, USER))
        self.sql(schema_sql, db=name)

    def dsn(self, db):
        return "socket=%s user=%s password=%s dbname=%s" % (self.socket, USER, PASSWORD, db)

    def stop(self):
        """Stops the server we started, by its PID (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STEP)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def freeze(self):
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def log_tail(self, n=20):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
