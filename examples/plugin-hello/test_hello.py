#!/usr/bin/python3
"""The example plugin library's own test (examples/plugin-hello).

Starts a djabberd-actors server (--server) with hello.toml, which loads
hello.so from --plugin-dir, and checks with slixmpp (Debian's
python3-slixmpp) that:
  * dave logs in (hello's `first` hook answers) and so does alice (hello
    declines, auth.static answers);
  * the IQ namespace urn:example:hello is answered, with the greeting of
    the plugin's options and the session.bound notifications counted;
  * a message with "hello" in its body arrives with hello's <greeted/>
    (the `filter.stanza` fold), one whose body is the drop word does not.

    /usr/bin/python3 test_hello.py --server P/bin/djabberd-actors \\
        --plugin-dir build-hello

Every step is bounded; the whole test has a hard limit of 90 s.
"""

import argparse
import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import slixmpp

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "localhost"
STEP = 10
NS = "urn:example:hello"


class TestFailure(Exception):
    pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        self.register_plugin("xep_0030")
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m))
        # SCRAM fails first (hello only checks passwords), then PLAIN.
        self.add_event_handler("failed_all_auth", self._on_failed)
        self.add_event_handler("disconnected", self._on_failed)

    def _on_start(self, _):
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_failed(self, *_):
        if not self.ready.done():
            self.ready.set_exception(
                TestFailure("%s: no session (authentication failed?)"
                            % self.boundjid.bare))


async def login(port, jid, password):
    bot = Bot(jid, password)
    bot.connect(address=("127.0.0.1", port), force_starttls=False,
                disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %d s" % (jid, STEP))
    return bot


async def next_message(bot):
    try:
        return await asyncio.wait_for(bot.inbox.get(), STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no message within %d s" % (bot.boundjid, STEP))


async def scenario(port):
    bots = []
    try:
        dave = await login(port, "dave@%s/h" % DOMAIN, "pw2")
        bots.append(dave)
        alice = await login(port, "alice@%s/h" % DOMAIN, "pw")
        bots.append(alice)
        print("first: dave (hello) and alice (declined, auth.static) logged in")

        iq = alice.Iq()
        iq["type"] = "get"
        iq["to"] = DOMAIN
        iq.append(ET.Element("{%s}hello" % NS))
        res = await iq.send(timeout=STEP)
        greeting = res.xml.find("{%s}hello/{%s}greeting" % (NS, NS))
        bound = res.xml.find("{%s}hello/{%s}bound" % (NS, NS))
        if greeting is None or greeting.text != "Howdy, alice@localhost!":
            raise TestFailure("iq answer: %s" % res)
        if bound is None or int(bound.text) < 2:
            raise TestFailure("session.bound not counted: %s" % res)
        print("iq %s: %s (notify: %s bound)" % (NS, greeting.text, bound.text))

        info = await alice["xep_0030"].get_info(jid=DOMAIN, timeout=STEP)
        if NS not in info["disco_info"]["features"]:
            raise TestFailure("disco#info lacks %s" % NS)

        alice.send_message(mto=dave.boundjid.full, mbody="hello dave",
                           mtype="chat")
        m = await next_message(dave)
        if m["body"] != "hello dave" or m.xml.find("{%s}greeted" % NS) is None:
            raise TestFailure("fold: expected <greeted/>: %s" % m)
        alice.send_message(mto=dave.boundjid.full, mbody="spam", mtype="chat")
        alice.send_message(mto=dave.boundjid.full, mbody="after", mtype="chat")
        m = await next_message(dave)
        if m["body"] != "after" or m.xml.find("{%s}greeted" % NS) is not None:
            raise TestFailure("fold: expected 'spam' dropped, 'after' "
                              "unchanged: %s" % m)
        print("fold: altered, dropped, passed")
    finally:
        for b in bots:
            try:
                fut = b.disconnect(wait=1.0)
                if fut is not None:
                    await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001
                pass


def run(port):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(port), 60))
    except asyncio.TimeoutError:
        raise TestFailure("the client scenario did not finish within 60 s")
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending,
                                               return_exceptions=True))
        loop.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, plugin_dir, tmp):
    """The server on a free port, once it accepts connections."""
    port = free_port()
    with open(os.path.join(HERE, "hello.toml")) as f:
        text = (f.read().replace("@PORT@", str(port))
                .replace("@DATA_DIR@", os.path.join(tmp, "data"))
                .replace("@PLUGIN_DIR@", os.path.abspath(plugin_dir)))
    config = os.path.join(tmp, "hello.toml")
    with open(config, "w") as f:
        f.write(text)
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([binary, "--config", config], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TestFailure("the server exited at start (status %d)"
                              % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise TestFailure("the server did not listen within %d s" % STEP)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="djabberd-actors binary")
    ap.add_argument("--plugin-dir", required=True, help="where hello.so is")
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of 90 s reached")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(90)
    tmp = tempfile.mkdtemp(prefix="plugin-hello-")
    proc = None
    try:
        proc, port = start_server(args.server, args.plugin_dir, tmp)
        run(port)
        if proc.poll() is not None:
            raise TestFailure("the server exited (status %d)" % proc.returncode)
        print("PASS plugin-hello")
        return 0
    except TestFailure as e:
        print("FAIL plugin-hello: %s" % e)
        with open(os.path.join(tmp, "server.log")) as f:
            print("--- server log ---\n" + "".join(f.readlines()[-40:]))
        return 1
    finally:
        signal.alarm(0)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
