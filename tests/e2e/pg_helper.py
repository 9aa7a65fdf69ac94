"""A private PostgreSQL server for the tests of the *.pgsql plugins.

Postgres(tmp).start() runs Debian's initdb and pg_ctl (package
`postgresql`, installed by tools/setup.sh) in a temporary directory,
listening on a Unix socket in that directory only (no TCP port, so tests
never collide). PostgreSQL refuses to run as root: when the test runs as
root, the cluster belongs to `nobody` and the commands run through
runuser. Every wait is bounded; stop() / cleanup() end and remove it.

    pg = Postgres()
    pg.start()                # initdb + pg_ctl start (about 2 s)
    dsn = pg.dsn("mydb")      # after pg.createdb("mydb")
    pg.stop(); pg.start()     # the same cluster again (start() keeps data)
    pg.cleanup()

find_binaries() is None when the binaries are truly missing: the caller
then exits with SKIP (77, the tests' SKIP_RETURN_CODE in CMake).
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

SKIP = 77
PORT = 5432      # names the socket file only (.s.PGSQL.5432); no TCP
STEP = 30        # seconds any pg_ctl / initdb step may take


def find_binaries():
    """The directory holding initdb, pg_ctl and psql, or None."""
    cands = []
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        cands.append(d)
    which = shutil.which("pg_ctl")
    if which:
        cands.append(os.path.dirname(os.path.realpath(which)))
    for d in cands:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "psql")):
            return d
    return None


class PgError(Exception):
    pass


class Postgres:
    def __init__(self, bindir=None):
        self.bindir = bindir or find_binaries()
        if self.bindir is None:
            raise PgError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.tmp = tempfile.mkdtemp(prefix="dja-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.log = os.path.join(self.tmp, "postgres.log")
        self.user = None
        if os.geteuid() == 0:
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755)
        self.initialized = False

    def _run(self, args, timeout=STEP, check=True):
        cmd = [os.path.join(self.bindir, args[0])] + list(args[1:])
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        try:
            p = subprocess.run(cmd, cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PgError("%s did not finish within %ds" % (args[0], timeout))
        out = p.stdout.decode(errors="replace")
        if check and p.returncode != 0:
            raise PgError("%s failed (%d): %s\n%s" % (args[0], p.returncode, out.strip(), self.log_tail()))
        return p.returncode, out

    def start(self):
        if not self.initialized:
            self._run(["initdb", "-D", self.data, "-U", "dja", "-A", "trust", "-E", "UTF8",
                       "--locale=C", "--no-sync", "--no-instructions"])
            self.initialized = True
        opts = "-k %s -p %d -c listen_addresses='' -c fsync=off -c full_page_writes=off" % (self.tmp, PORT)
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", str(STEP), "start"],
                  timeout=STEP + 5)

    def stop(self, mode="fast"):
        """Stops the server (fast: open connections are cut, as in an outage)."""
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", str(STEP), "stop"], timeout=STEP + 5)

    def pids(self):
        """The postmaster and its children (the server processes we started)."""
        with open(os.path.join(self.data, "postmaster.pid"), encoding="utf-8") as f:
            main = int(f.readline())
        out = [main]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d, encoding="utf-8") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == main:
                    out.append(int(d))
        return out

    def freeze(self):
        """SIGSTOP to every server process: connections stay open, nothing answers."""
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def running(self):
        rc, _ = self._run(["pg_ctl", "-D", self.data, "status"], check=False)
        return rc == 0

    def psql(self, sql, db="postgres"):
        _, out = self._run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", self.tmp,
                            "-p", str(PORT), "-U", "dja", "-d", db, "-c", sql])
        return out.strip()

    def createdb(self, name):
        self.psql('CREATE DATABASE "%s"' % name)

    def dsn(self, db="postgres"):
        return "host=%s port=%d user=dja dbname=%s" % (self.tmp, PORT, db)

    def log_tail(self, n=20):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def cleanup(self):
        try:
            if self.initialized and self.running():
                self._run(["pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "10", "stop"],
                          timeout=15, check=False)
        except PgError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def pgsql_config(text, dsn):
    """An SQLite test config turned into its PostgreSQL twin: every
    `type = "X.sqlite"` of auth, roster, offline, vcard, private,
    blocking, pep and mam becomes
    `X.pgsql` with `dsn`, and that block's `file = ...` is dropped; a
    @DSN@ in a config written for PostgreSQL becomes `dsn`."""
    text = text.replace("@DSN@", dsn)
    out = []
    in_pg = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("["):
            in_pg = False
        for fam in ("auth", "roster", "offline", "vcard", "private", "blocking",
                    "pep", "mam"):
            if s in ('type = "%s.sqlite"' % fam, "type = '%s.sqlite'" % fam):
                indent = line[:len(line) - len(line.lstrip())]
                out.append('%stype = "%s.pgsql"' % (indent, fam))
                out.append('%sdsn = "%s"' % (indent, dsn))
                in_pg = True
                break
        else:
            if in_pg and s.startswith("file"):
                continue
            out.append(line)
    return "\n".join(out) + "\n"
