"""The server under test: run-wide test certificates, free ports, the
scenario's config (scenarios/configs/NAME.toml) and the process itself
(start, restart, stop with bounded waits).

Part of the scenario runner (runner.py); standard library only.
"""

import atexit
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

from scn_xml import Failure, SERVER_START_TIMEOUT, SERVER_STOP_TIMEOUT


# --------------------------------------------------------------------------
# Test certificates (made once per run, on first use)

# placeholder -> (subject CN, subjectAltName DNS names)
CERT_SPECS = {
    "CERT": ("localhost", ("localhost", "other.localhost")),
    "CERT2": ("other.localhost", ("other.localhost",)),
}
_certs = None
_certs_lock = threading.Lock()


def test_certificates():
    """Self-signed certificates for the scenario domains, made once per run
    in a temporary directory (removed at exit): {"CERT": {"cert": path,
    "key": path, "sha256": hex digest of the DER certificate}, "CERT2": ...}.
    @CERT@/@KEY@ in a config are the first (CN=localhost, SAN localhost and
    other.localhost), @CERT2@/@KEY2@ the second (CN=other.localhost)."""
    global _certs
    with _certs_lock:
        if _certs is not None:
            return _certs
        d = tempfile.mkdtemp(prefix="dja-scenario-certs-")
        atexit.register(shutil.rmtree, d, True)
        out = {}
        for name, (cn, sans) in CERT_SPECS.items():
            cert = os.path.join(d, name.lower() + ".pem")
            key = os.path.join(d, name.lower() + ".key")
            cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                   "-keyout", key, "-out", cert, "-subj", "/CN=%s" % cn,
                   "-addext", "subjectAltName=%s" % ",".join("DNS:" + n for n in sans)]
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise Failure("cannot make a test certificate (%s): %s" % (" ".join(cmd), e))
            if r.returncode != 0:
                raise Failure("cannot make a test certificate (%s): %s" % (
                    " ".join(cmd), r.stdout.decode("utf-8", "replace").strip()[-500:]))
            with open(cert, encoding="ascii") as f:
                der = ssl.PEM_cert_to_DER_cert(f.read())
            out[name] = {"cert": cert, "key": key, "sha256": hashlib.sha256(der).hexdigest(), "cn": cn}
        _certs = out
        return _certs


# --------------------------------------------------------------------------
# The server process

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def find_config(sc, extra_dirs):
    name = sc.config
    cands = []
    d = os.path.dirname(sc.path)
    for _ in range(5):
        cands.append(os.path.join(d, "configs", name))
        nd = os.path.dirname(d)
        if nd == d:
            break
        d = nd
    for x in extra_dirs:
        cands.append(os.path.join(x, name))
    for c in cands:
        if os.path.isfile(c):
            return c
    raise Failure("config %r not found (looked in %s)" % (name, ", ".join(cands[:3])))


class Server:
    def __init__(self, binary, config_template, keep=False):
        self.binary = binary
        self.template = config_template
        self.keep = keep
        self.proc = None
        self.tmp = None
        self.port = None
        self.tls_port = None    # second listener (@TLS_PORT@), direct TLS
        self.component_port = None  # XEP-0114 listener (@COMPONENT_PORT@)
        self.certs = None       # test_certificates() when the config uses @CERT@ etc.
        self.log_path = None
        self.logf = None
        self.stop_requested = False

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="dja-scenario-")
        data = os.path.join(self.tmp, "data")
        os.mkdir(data)
        with open(self.template, encoding="utf-8") as f:
            text = f.read()
        if re.search(r"@(CERT2?|KEY2?)@", text):
            self.certs = test_certificates()
            for name, c in self.certs.items():
                text = text.replace("@%s@" % name, c["cert"]).replace("@%s@" % name.replace("CERT", "KEY"), c["key"])
        last_err = None
        for _attempt in range(3):
            self.port = free_port()
            cfg = text.replace("@PORT@", str(self.port)).replace("@DATA_DIR@", data)
            # @SOURCE_DIR@: the repository (e.g. tests/external/ scripts)
            cfg = cfg.replace("@SOURCE_DIR@", SOURCE_DIR)
            if "@TLS_PORT@" in cfg:
                self.tls_port = free_port()
                while self.tls_port == self.port:
                    self.tls_port = free_port()
                cfg = cfg.replace("@TLS_PORT@", str(self.tls_port))
            if "@COMPONENT_PORT@" in cfg:
                self.component_port = free_port()
                while self.component_port in (self.port, self.tls_port):
                    self.component_port = free_port()
                cfg = cfg.replace("@COMPONENT_PORT@", str(self.component_port))
            ports = [p for p in (self.port, self.tls_port, self.component_port) if p]
            cfg_path = os.path.join(self.tmp, "server.toml")
            with open(cfg_path, "w", encoding="utf-8") as f:
                f.write(cfg)
            self.log_path = os.path.join(self.tmp, "server.log")
            if self.logf:
                self.logf.close()
            self.logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen([self.binary, "--config", cfg_path], cwd=self.tmp,
                                         stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline and ports:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", ports[0]), timeout=0.5).close()
                    ports.pop(0)
                except OSError:
                    time.sleep(0.02)
            if not ports:
                return
            rc = self.proc.poll()
            last_err = ("server exited with status %s during start" % rc if rc is not None
                        else "server did not accept connections on 127.0.0.1:%d within %.0fs"
                        % (ports[0], SERVER_START_TIMEOUT))
            self.kill()
            if rc is None:
                break
            if "address" not in self.log_tail(20).lower():  # retry only on a port race
                break
        raise Failure(last_err)

    def restart(self, deadline):
        """SIGTERM, wait for exit status 0, then start the same binary again with
        the same config file (same port(s), same data dir). Appends to server.log."""
        self.signal_term()
        rc = self.wait_exit(max(0.0, min(deadline - time.monotonic(), SERVER_STOP_TIMEOUT)))
        if rc is None:
            self.kill()
            raise Failure("server restarts: the server did not exit after SIGTERM (killed)")
        if rc != 0:
            raise Failure("server restarts: the server exited with status %s (expected 0)" % rc)
        cfg_path = os.path.join(self.tmp, "server.toml")
        ports = [p for p in (self.port, self.tls_port, self.component_port) if p]
        while True:
            self.proc = subprocess.Popen([self.binary, "--config", cfg_path], cwd=self.tmp,
                                         stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
            self.stop_requested = False
            start_dl = min(deadline, time.monotonic() + SERVER_START_TIMEOUT)
            while time.monotonic() < start_dl and ports and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", ports[0]), timeout=0.5).close()
                    ports.pop(0)
                except OSError:
                    time.sleep(0.02)
            if not ports:
                return
            rc = self.proc.poll()
            # the old process's port may linger for a moment: retry a bind failure until the deadline
            if rc is not None and "address" in self.log_tail(20).lower() and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            self.kill()
            raise Failure("server restarts: %s" % ("the server exited with status %s during start" % rc
                                                   if rc is not None else
                                                   "the server did not accept connections again in time"))

    def signal_term(self):
        self.stop_requested = True
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL. Returns a problem description or None."""
        problem = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(SERVER_STOP_TIMEOUT) is None:
                problem = "server did not exit within %.0fs after SIGTERM (killed)" % SERVER_STOP_TIMEOUT
                self.kill()
        rc = self.proc.returncode
        if rc is not None and rc < 0 and -rc not in (signal.SIGTERM, signal.SIGKILL):
            problem = problem or "server died with signal %d" % -rc
        if self.logf:
            self.logf.close()
            self.logf = None
        return problem

    def log_tail(self, n=40):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            try:
                f.seek(-200000, os.SEEK_END)
            except OSError:
                pass
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])

    def cleanup(self):
        if self.tmp and not self.keep:
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)
