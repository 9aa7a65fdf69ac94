"""A private OpenLDAP slapd for the tests of the `ldap` plugin.

Slapd().start(ldif) makes a self-signed certificate for 127.0.0.1 (IP
SAN; libldap checks a "localhost" URI against the host's own name), writes its own slapd.conf (schemas from
/etc/ldap/schema, back_mdb, suffix dc=example,dc=org), loads the LDIF with
slapadd into its own data directory and runs /usr/sbin/slapd (Debian
`slapd`, installed by tools/setup.sh --test) in the foreground on two
loopback ports chosen here: ldap:// (StartTLS with the given certificate)
and ldaps://. The system's slapd is never used. It is stopped by its own
PID (never by name); freeze()/thaw() stop and continue it (a directory
that accepts connections and never answers). Every wait is bounded.

    d = Slapd()
    d.cert                      # the CA file of the plugin (tls_ca_file)
    d.start(ldif)
    d.ldap_uri, d.ldaps_uri
    d.stop(); d.start_again(); d.cleanup()

find_binaries() is None when the binaries are missing: the caller then
exits with SKIP (77).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SKIP = 77
STEP = 30  # seconds a start or a command may take
SUFFIX = "dc=example,dc=org"
ROOT_DN = "cn=admin," + SUFFIX
ROOT_PW = "admin-secret"

CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
argsfile {tmp}/slapd.args
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root}"
rootpw {rootpw}
directory {tmp}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


def find_binaries():
    for b in ("slapd", "slapadd"):
        if not os.access(os.path.join("/usr/sbin", b), os.X_OK):
            return None
    if not os.path.exists("/etc/ldap/schema/inetorgperson.schema"):
        return None
    return "/usr/sbin/slapd"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SlapdError(Exception):
    pass


class Slapd:
    def __init__(self):
        if find_binaries() is None:
            raise SlapdError("slapd not found (apt-get install slapd ldap-utils)")
        self.tmp = tempfile.mkdtemp(prefix="dja-slapd-")
        os.mkdir(os.path.join(self.tmp, "data"))
        self.cert = cert = os.path.join(self.tmp, "slapd.pem")
        key = os.path.join(self.tmp, "slapd.key")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-keyout", key, "-out", cert, "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=STEP)
        if r.returncode != 0:
            raise SlapdError("openssl req: %s" % r.stdout.decode("utf-8", "replace")[-500:])
        self.conf = os.path.join(self.tmp, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(tmp=self.tmp, cert=cert, key=key, suffix=SUFFIX,
                                root=ROOT_DN, rootpw=ROOT_PW))
        self.port = free_port()
        self.tls_port = free_port()
        self.ldap_uri = "ldap://127.0.0.1:%d" % self.port
        self.ldaps_uri = "ldaps://127.0.0.1:%d" % self.tls_port
        self.log = os.path.join(self.tmp, "slapd.log")
        self.proc = None

    def start(self, ldif):
        path = os.path.join(self.tmp, "data.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        r = subprocess.run(["/usr/sbin/slapadd", "-f", self.conf, "-l", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=STEP)
        if r.returncode != 0:
            raise SlapdError("slapadd: %s" % r.stdout.decode("utf-8", "replace")[-800:])
        self.start_again()

    def start_again(self):
        urls = "ldap://127.0.0.1:%d/ ldaps://127.0.0.1:%d/" % (self.port, self.tls_port)
        logf = open(self.log, "ab")
        # -d: stays in the foreground (its PID is ours to stop).
        self.proc = subprocess.Popen(["/usr/sbin/slapd", "-f", self.conf, "-h", urls,
                                      "-d", "256"], stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.time() + STEP
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SlapdError("slapd exited (%s): %s" % (self.proc.returncode,
                                                            self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SlapdError("slapd did not listen within %ds: %s" % (STEP, self.log_tail()))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.thaw()
        self.proc.terminate()
        try:
            self.proc.wait(STEP)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STEP)

    def freeze(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def log_tail(self, n=20):
        try:
            with open(self.log, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return "(no slapd log)"

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, True)
