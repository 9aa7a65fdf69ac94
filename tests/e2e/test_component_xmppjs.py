#!/usr/bin/python3
"""End-to-end test of XEP-0114 with xmpp.js's component (npm
@xmpp/component on Debian's node): tests/e2e/xmppjs-component/echo.js
serves gw.localhost on the server's component listener
(scenarios/configs/component.toml) and a slixmpp client (alice) uses it:
  * echo.js with a wrong secret is refused (it reports not-authorized);
  * with the right one it goes online; alice's message comes back echoed
    from the JID she wrote to, her disco#info of gw.localhost is answered
    by the component, and "ping me" makes the component ping alice's
    full JID through the server before it answers "pong";
  * once echo.js has stopped, alice's message bounces with
    <service-unavailable/>.

xmpp.js is installed by `tools/setup.sh --test` (npm ci in
tests/e2e/xmppjs-component/); without node or it the test is skipped
(exit 77).

    /usr/bin/python3 tests/e2e/test_component_xmppjs.py --server build/djabberd-actors
"""

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))
sys.path.insert(0, HERE)

import runner as sr  # noqa: E402
from test_component_slixmpp import STEP, CONFIG, Client, TestFailure, next_message  # noqa: E402

DIR = os.path.join(HERE, "xmppjs-component")


def start_echo(port, secret):
    return subprocess.Popen(["node", os.path.join(DIR, "echo.js"), "xmpp://127.0.0.1:%d" % port,
                             "gw.localhost", secret],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NODE_NO_WARNINGS="1"))


def read_line(proc, what):
    """The next line echo.js prints (bounded), or the failure."""
    os.set_blocking(proc.stdout.fileno(), False)
    deadline = time.monotonic() + STEP
    buf = ""
    while time.monotonic() < deadline:
        try:
            chunk = os.read(proc.stdout.fileno(), 4096).decode("utf-8", "replace")
        except BlockingIOError:
            chunk = None
        buf += chunk or ""
        if "\n" in buf:
            return buf.split("\n", 1)[0]
        if proc.poll() is not None and not chunk:
            return buf or "(exited with status %s)" % proc.returncode
        time.sleep(0.05)
    raise TestFailure("echo.js: %s not reported within %ds (got %r)" % (what, STEP, buf))


def stop(proc):
    if proc.poll() is None:
        proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def scenario(server):
    bad = start_echo(server.component_port, "wrong")
    try:
        line = read_line(bad, "the refusal")
        if "not-authorized" not in line:
            raise TestFailure("echo.js with a wrong secret: %r (expected not-authorized)" % line)
    finally:
        stop(bad)
    print("wrong secret refused: ok")

    echo = start_echo(server.component_port, "s3cret")
    alice = None
    try:
        line = read_line(echo, "online")
        if line != "online":
            raise TestFailure("echo.js did not go online: %r" % line)
        print("component online: ok")
        alice = Client("alice@localhost/e2e", "pw")
        alice.connect(address=("127.0.0.1", server.port), force_starttls=False, disable_starttls=True)
        await asyncio.wait_for(alice.ready, STEP)

        alice.send_message(mto="bot@gw.localhost", mbody="hello", mtype="chat")
        m = await next_message(alice, "the echo")
        if m["type"] == "error" or m["body"] != "echo: hello" or m["from"].bare != "bot@gw.localhost":
            raise TestFailure("unexpected answer of the component: %s" % m)
        print("message and echo: ok")

        info = await alice["xep_0030"].get_info(jid="gw.localhost", timeout=STEP)
        ids = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
        if ("gateway", "xmppjs") not in ids:
            raise TestFailure("disco#info of gw.localhost: %s" % ids)
        print("disco#info answered by the component: ok")

        alice.send_message(mto="bot@gw.localhost", mbody="ping me", mtype="chat")
        m = await next_message(alice, "the answer to 'ping me'")
        if m["body"] != "pong":
            raise TestFailure("the component's ping of alice: %s" % m)
        print("the component pings alice: ok")
    finally:
        stop(echo)
    await asyncio.sleep(0.5)
    try:
        alice.send_message(mto="bot@gw.localhost", mbody="anyone?", mtype="chat")
        m = await next_message(alice, "the error for the departed component")
        if m["type"] != "error" or m["error"]["condition"] != "service-unavailable":
            raise TestFailure("expected <service-unavailable/>, got %s" % m)
        print("component gone: service-unavailable: ok")
    finally:
        alice.abort()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary to start")
    ap.add_argument("--limit", type=int, default=90, help="hard time limit in seconds (default 90)")
    ap.add_argument("-v", "--verbose", action="store_true", help="slixmpp debug log")
    args = ap.parse_args()
    if shutil.which("node") is None or not os.path.isdir(os.path.join(DIR, "node_modules", "@xmpp", "component")):
        print("SKIP test_component_xmppjs: node or @xmpp/component missing (tools/setup.sh --test)")
        return 77
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL,
                        format="%(levelname)-8s %(message)s")

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    server = sr.Server(os.path.abspath(args.server), CONFIG)
    try:
        server.start()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(asyncio.wait_for(scenario(server), args.limit - 10))
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
        print("PASS test_component_xmppjs")
        return 0
    except (TestFailure, sr.Failure, asyncio.TimeoutError, Exception) as e:  # noqa: BLE001
        print("FAIL test_component_xmppjs: %r" % e)
        print("--- last lines of the server log (%s) ---" % server.log_path)
        print(server.log_tail(40))
        return 1
    finally:
        signal.alarm(0)
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
