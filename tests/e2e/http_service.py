"""A small web service speaking the convention of Prosody's mod_auth_http
and MongooseIM's http auth, and the roster JSON of Prosody's
mod_http_roster_admin: what the `http` plugin (plugins/http/) talks to in
tests/e2e/test_http_userbase.py. Python's http.server on 127.0.0.1, an
ephemeral port, every wait bounded.

The first path segment picks a behaviour, so one service plays several:
  /ok/auth/...       the convention (users in `accounts`)
  /slow/auth/...     holds each request until `release` is set (10 s max)
  /garbage/auth/...  200 "yes" (neither true nor false)
  /big/auth/...      200 "true" padded to 100 KB
  /decline/auth/...  501 Not Implemented
  /ok/roster/USER    the JSON roster of USER (`rosters`), 404 when none
  /ok/vcard/USER     vcard-temp XML (`vcards`), 404 when none
Every request must carry HTTP Basic `basic` credentials (401 otherwise).
With `tls` (a certificate and key for localhost) the service is
https://localhost.
"""

import base64
import http.server
import json
import ssl
import threading
import urllib.parse

SLOW_LIMIT = 10.0  # seconds a /slow request is held at most


class Service:
    def __init__(self, domains, basic=("xmpp", "service-secret"), tls=None):
        self.domains = set(domains)
        self.basic = basic
        self.accounts = {}   # user -> password
        self.rosters = {}    # user -> dict (the JSON object)
        self.vcards = {}     # user -> XML text
        self.requests = []   # (method, path, params) in arrival order
        self.slow_arrived = threading.Semaphore(0)
        self.release = threading.Event()
        self.lock = threading.Lock()
        svc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                svc.handle(self, "GET", u.path, urllib.parse.parse_qs(u.query))

            def do_POST(self):
                n = min(int(self.headers.get("Content-Length", "0")), 65536)
                body = self.rfile.read(n).decode()
                u = urllib.parse.urlsplit(self.path)
                svc.handle(self, "POST", u.path, urllib.parse.parse_qs(body))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.scheme, self.host = "http", "127.0.0.1"
        if tls is not None:  # (cert, key): https://localhost
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme, self.host = "https", "localhost"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, mode, what):
        return "%s://%s:%d/%s/%s" % (self.scheme, self.host, self.port, mode, what)

    @staticmethod
    def reply(h, status, body=b"", ctype="text/plain"):
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server gave up first (a timeout under test)

    def handle(self, h, method, path, params):
        p = {k: v[0] for k, v in params.items()}
        with self.lock:
            self.requests.append((method, path, p))
        want = "Basic " + base64.b64encode(("%s:%s" % self.basic).encode()).decode()
        if h.headers.get("Authorization") != want:
            return self.reply(h, 401, b"unauthorized")
        parts = path.strip("/").split("/")
        if len(parts) < 3:
            return self.reply(h, 404)
        mode, kind, op = parts[0], parts[1], urllib.parse.unquote("/".join(parts[2:]))
        if mode == "slow":
            self.slow_arrived.release()
            self.release.wait(SLOW_LIMIT)
            return self.reply(h, 200, b"true")
        if mode == "garbage":
            return self.reply(h, 200, b"yes")
        if mode == "big":
            return self.reply(h, 200, b"true" + b" " * 100000)
        if mode == "decline":
            return self.reply(h, 501, b"not implemented")
        if kind == "roster":
            r = self.rosters.get(op)
            if r is None:
                return self.reply(h, 404)
            return self.reply(h, 200, json.dumps(r).encode(), "application/json")
        if kind == "vcard":
            v = self.vcards.get(op)
            if v is None:
                return self.reply(h, 404)
            return self.reply(h, 200, v.encode(), "text/xml")
        return self.auth(h, op, p)

    def auth(self, h, op, p):
        user, server, pw = p.get("user"), p.get("server"), p.get("pass")
        if server not in self.domains or not user:
            return self.reply(h, 400, b"bad request")
        truth = lambda b: self.reply(h, 200, b"true" if b else b"false")
        with self.lock:
            known = user in self.accounts
            if op == "check_password":
                return truth(known and self.accounts[user] == pw)
            if op == "user_exists":
                return truth(known)
            if op == "set_password":
                if not known:
                    return self.reply(h, 404)
                self.accounts[user] = pw
                return self.reply(h, 204)
            if op == "register":
                if known:
                    return self.reply(h, 409)
                self.accounts[user] = pw
                return self.reply(h, 201)
            if op == "remove_user":
                if not known:
                    return self.reply(h, 404)
                del self.accounts[user]
                return self.reply(h, 204)
        return self.reply(h, 404)
