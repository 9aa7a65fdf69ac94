#!/usr/bin/python3
"""A real web client in a real browser: headless Chromium (Debian's
chromium) loads a page served by this test that runs xmpp.js
(@xmpp/client's browser bundle, pinned by tests/e2e/xmppjs/package-lock.json
and installed by `tools/setup.sh --test`; nothing is fetched from the
network at test time) against the server's `http` listener over wss://
(RFC 7395, docs/web.md):

  * alice logs in over WebSocket with SCRAM-SHA-1 (the bundle leaves SCRAM
    out; the page adds the same package's sasl-scram-sha-1 mechanism
    first, and the server log must name SCRAM-SHA-1 for the WebSocket
    login);
  * bob, a slixmpp client on TCP c2s, sends her a chat message; the page
    answers it; bob gets the answer;
  * alice joins a room on conference.localhost (the MUC plugin muc.sqlite,
    created as an instant room if new); when bob joins, the page posts to
    the room and bob gets it; bob posts, the page reports it.

The page reports each step to the test's own HTTP server (POST /report);
every wait is bounded and any missing step fails the test. Without
chromium or the npm packages the test is skipped (exit 77).

    /usr/bin/python3 tests/e2e/test_websocket_browser.py --server build/djabberd-actors
"""

import argparse
import asyncio
import contextlib
import http.server
import io
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
from scn_server import free_port  # noqa: E402

NAME = "test_websocket_browser"
SKIP = 77
STEP = 20
NODE_MODULES = os.path.join(HERE, "xmppjs", "node_modules")
BUNDLE = os.path.join(NODE_MODULES, "@xmpp", "client", "dist", "xmpp.min.js")
SCRAM = os.path.join(NODE_MODULES, "sasl-scram-sha-1")

CONFIG = """
[server]
log_level = "debug"
data_dir  = "@DATA_DIR@"

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = @PORT@
starttls = "off"
allow_plain_without_tls = true

[[listen]]
kind    = "http"
address = "127.0.0.1"
port    = @TLS_PORT@
tls     = true
allowed_origins = ["http://127.0.0.1:@PAGE_PORT@"]

[[vhost]]
domain = "localhost"
tls_cert = "@CERT@"
tls_key  = "@KEY@"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { alice = "pw", bob = "pw" }
  [[vhost.plugin]]
  type = "disco"

[[vhost]]
domain = "conference.localhost"
  [[vhost.plugin]]
  type = "muc.sqlite"
"""

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>xmpp.js over WebSocket</title>
<script src="/xmpp.min.js"></script>
<script src="/scram.js"></script>
</head><body><pre id="log"></pre>
<script>
const SERVICE = "wss://127.0.0.1:@WS_PORT@/xmpp-websocket";
const ROOM = "@ROOM@";
function report(step, detail) {
  document.getElementById("log").textContent += step + " " + detail + "\\n";
  return fetch("/report", {method: "POST", body: JSON.stringify({step, detail: String(detail)})});
}
window.onerror = (msg) => { report("error", "page: " + msg); };
const {client, xml} = window.XMPP;
const xmpp = client({service: SERVICE, domain: "localhost", username: "alice",
                     password: "pw", resource: "browser"});
// The browser bundle has no SCRAM; the same package's mechanism, first.
xmpp.saslFactory._mechs.unshift({name: "SCRAM-SHA-1", mech: window.ScramSha1});
xmpp.on("error", (e) => report("error", (e.condition || "") + " " + e.message));
xmpp.on("stanza", async (st) => {
  try {
    const from = st.attrs.from || "";
    if (st.is("message") && st.attrs.type === "chat" && st.getChildText("body")) {
      const body = st.getChildText("body");
      await report("chat", body + " from " + from);
      await xmpp.send(xml("message", {to: from, type: "chat"},
                          xml("body", {}, "echo from the browser: " + body)));
    } else if (st.is("message") && st.attrs.type === "groupchat"
               && from === ROOM + "/Bob" && st.getChildText("body")) {
      await report("groupchat", st.getChildText("body"));
    } else if (st.is("presence") && from.startsWith(ROOM + "/")) {
      const x = st.getChild("x", "http://jabber.org/protocol/muc#user");
      const codes = x ? x.getChildren("status").map((s) => s.attrs.code) : [];
      if (from === ROOM + "/Alice" && codes.includes("110")) {
        if (codes.includes("201")) {
          // XEP-0045 §10.1.2: an instant room.
          await xmpp.iqCaller.request(
            xml("iq", {type: "set", to: ROOM},
                xml("query", {xmlns: "http://jabber.org/protocol/muc#owner"},
                    xml("x", {xmlns: "jabber:x:data", type: "submit"}))));
        }
        await report("joined", codes.join(","));
      } else if (from === ROOM + "/Bob" && st.attrs.type !== "unavailable") {
        await xmpp.send(xml("message", {to: ROOM, type: "groupchat"},
                            xml("body", {}, "hello room from the browser")));
        await report("posted", "");
      }
    }
  } catch (e) {
    report("error", "handler: " + e);
  }
});
xmpp.on("online", async (address) => {
  await report("online", address.toString());
  await xmpp.send(xml("presence"));
  await xmpp.send(xml("presence", {to: ROOM + "/Alice"},
                      xml("x", {xmlns: "http://jabber.org/protocol/muc"},
                          xml("history", {maxstanzas: "0"}))));
});
xmpp.start().catch((e) => report("error", "start: " + e));
</script></body></html>
"""


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def scram_script():
    """sasl-scram-sha-1 (CommonJS) as one browser script: window.ScramSha1."""
    mods = {}
    for name, rel in (("main", "index.js"), ("./lib/bitops", "lib/bitops.js"),
                      ("./lib/utils", "lib/utils.js")):
        with open(os.path.join(SCRAM, rel), encoding="utf-8") as f:
            mods[name] = f.read()
    out = ["(function () {", "var defs = {};"]
    for name, src in mods.items():
        out.append("defs[%s] = function (module, exports, require) {\n%s\n};" % (json.dumps(name), src))
    out.append("""var cache = {};
function req(name) {
  name = name.replace(/\\.js$/, "");
  if (cache[name]) return cache[name].exports;
  if (!defs[name]) throw new Error("scram.js: no module " + name);
  var m = {exports: {}};
  cache[name] = m;
  defs[name](m, m.exports, req);
  return m.exports;
}
window.ScramSha1 = req("main");
})();""")
    return "\n".join(out)


def page_server(port, page, reports):
    files = {"/": ("text/html", page.encode()),
             "/xmpp.min.js": ("application/javascript", open(BUNDLE, "rb").read()),
             "/scram.js": ("application/javascript", scram_script().encode())}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            f = files.get(self.path)
            if f is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", f[0])
            self.send_header("Content-Length", str(len(f[1])))
            self.end_headers()
            self.wfile.write(f[1])

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(n)
            try:
                reports.put(json.loads(data))
            except ValueError:
                reports.put({"step": "error", "detail": "bad report %r" % data})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Reports:
    def __init__(self, q):
        self.q = q
        self.seen = []

    def wait(self, step, timeout=STEP, pred=lambda d: True):
        for r in self.seen:
            if r["step"] == step and pred(r["detail"]):
                return r["detail"]
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("the page did not report %r within %ds (reports: %s)"
                              % (step, timeout, self.seen))
            try:
                r = self.q.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            self.seen.append(r)
            if r["step"] == "error":
                raise Failure("the page reported an error: %s (reports: %s)" % (r["detail"], self.seen))
            if r["step"] == step and pred(r["detail"]):
                return r["detail"]


async def scenario(server, reports, room, launch):
    import slixmpp
    bob = slixmpp.ClientXMPP("bob@localhost/tcp", "pw")
    bob.register_plugin("xep_0045")
    bob["feature_mechanisms"].unencrypted_plain = True
    got, groupchat = [], []
    ready = asyncio.get_event_loop().create_future()
    changed = asyncio.Event()

    def on_start(_e):
        bob.send_presence()
        if not ready.done():
            ready.set_result(True)

    def on_message(m):
        if m["type"] == "chat" and m["body"]:
            got.append(m["body"])
            changed.set()

    def on_groupchat(m):
        if m["from"].resource == "Alice":
            groupchat.append(m["body"])
            changed.set()

    bob.add_event_handler("session_start", on_start)
    bob.add_event_handler("message", on_message)
    bob.add_event_handler("groupchat_message", on_groupchat)
    bob.connect(address=("127.0.0.1", server.port), disable_starttls=True)

    async def until(pred, what):
        deadline = time.monotonic() + STEP
        while not pred():
            if time.monotonic() > deadline:
                raise Failure("bob: %s not seen within %ds (chat %s, groupchat %s)"
                              % (what, STEP, got, groupchat))
            changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), 0.2)

    async def page(step, pred=lambda d: True, timeout=STEP):
        return await asyncio.get_event_loop().run_in_executor(
            None, lambda: reports.wait(step, timeout, pred))

    try:
        await asyncio.wait_for(ready, STEP)
        launch()
        jid = await page("online", timeout=45)
        if not jid.startswith("alice@localhost/"):
            raise Failure("the page is online as %r" % jid)
        print("browser online as %s" % jid)
        log = open(server.log_path, errors="replace").read()
        m = re.findall(r"authenticated \S+ as alice@localhost \(([A-Z0-9-]+)", log)
        if not m or m[-1] != "SCRAM-SHA-1":
            raise Failure("the browser's login was not SCRAM-SHA-1: %s" % m)
        if "websocket opened" not in log:
            raise Failure("no WebSocket in the server log")
        bob.send_message(mto=jid, mbody="hi browser", mtype="chat")
        await page("chat", lambda d: d.startswith("hi browser from bob@localhost/tcp"))
        await until(lambda: "echo from the browser: hi browser" in got, "the browser's answer")
        print("chat over WebSocket <-> TCP: ok")
        await page("joined")
        with contextlib.redirect_stdout(io.StringIO()):
            await bob["xep_0045"].join_muc_wait(room, "Bob", timeout=STEP, maxstanzas=0)
        await until(lambda: "hello room from the browser" in groupchat, "the browser's room message")
        bob.send_message(mto=room, mbody="hello from slixmpp", mtype="groupchat")
        await page("groupchat", lambda d: d == "hello from slixmpp")
        print("MUC room %s: ok" % room)
    finally:
        bob.disconnect()
        await asyncio.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--keep", action="store_true", help="print chromium's output")
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_s, _f):
        raise Failure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    tmp = tempfile.mkdtemp(prefix="dja-browser-")
    server = browser = srv = None
    try:
        chromium = chromium_binary()
        if chromium is None:
            raise Skip("chromium is not installed (tools/setup.sh --test)")
        if not os.path.isfile(BUNDLE) or not os.path.isdir(SCRAM):
            raise Skip("@xmpp/client is not installed in tests/e2e/xmppjs (tools/setup.sh --test runs npm ci)")
        try:
            import slixmpp  # noqa: F401
        except ImportError:
            raise Failure("python3-slixmpp is not installed")
        page_port = free_port()
        path = os.path.join(tmp, "browser.toml")
        with open(path, "w") as f:
            f.write(CONFIG.replace("@PAGE_PORT@", str(page_port)))
        server = sr.Server(os.path.abspath(args.server), path)
        server.start()
        room = "browser-%d@conference.localhost" % os.getpid()
        page = PAGE.replace("@WS_PORT@", str(server.tls_port)).replace("@ROOM@", room)
        q = queue.Queue()
        srv = page_server(page_port, page, q)
        chrome_log = open(os.path.join(tmp, "chromium.log"), "wb")

        def launch():
            nonlocal browser
            browser = subprocess.Popen(
                [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                 "--ignore-certificate-errors", "--no-first-run", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--mute-audio",
                 "--user-data-dir=" + os.path.join(tmp, "profile"),
                 "http://127.0.0.1:%d/" % page_port],
                stdin=subprocess.DEVNULL, stdout=chrome_log, stderr=subprocess.STDOUT,
                start_new_session=True)

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(asyncio.wait_for(scenario(server, Reports(q), room, launch),
                                                     args.limit - 20))
        except asyncio.TimeoutError:
            raise Failure("the scenario did not finish in time")
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
        if server.proc.poll() is not None:
            raise Failure("the server exited (status %s)" % server.proc.returncode)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except Skip as e:
        print("SKIP %s: %s" % (NAME, e))
        return SKIP
    except (Failure, sr.Failure) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        if server is not None and server.log_path:
            print("--- last lines of the server log (%s) ---" % server.log_path)
            print(server.log_tail(40))
        p = os.path.join(tmp, "chromium.log")
        if os.path.exists(p):
            print("--- chromium ---")
            print(open(p, errors="replace").read()[-2000:])
        return 1
    finally:
        signal.alarm(0)
        if browser is not None and browser.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                browser.wait(10)
        if srv is not None:
            srv.shutdown()
        if server is not None:
            server.stop()
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
