#!/usr/bin/python3
"""End-to-end test of the metrics (docs/metrics.md): a real Prometheus
parser (Debian's python3-prometheus-client) reads what
`djabberd-actors ctl metrics` prints (the body GET /metrics serves) while
slixmpp clients use the server.

Starts djabberd-actors on scenarios/configs/im.toml (auth.static,
roster.sqlite, offline.sqlite, ...). Then:
  1. a scrape of the idle server parses; every family has HELP and TYPE;
     histograms have cumulative buckets ending at +Inf = _count; no
     session, no c2s connection; the process metrics are there; every
     hot actor (router shards, the vhost) answered its probe;
  2. alice and bob log in (slixmpp, plain TCP); alice sends bob 20
     messages, bob answers 5; then: dja_sessions == 2, dja_users_online
     == 2, dja_connections{kind="c2s"} == 2, c2s messages in and out each
     grew by >= 25, routed stanzas (dja_route_duration_seconds_count) by
     >= 25, iq and presence in grew, roster.sqlite's roster.get calls
     and their latency histogram count grew by >= 2 with no errors, the
     auth plugin was called;
  3. bob leaves: dja_sessions == 1 and one c2s connection (polled,
     bounded);
  4. `[server] metrics = false`: a second server counts nothing
     (dja_metrics_enabled 0, stanzas 0 after a login) while the probes
     still answer (dja_sessions 1).

    /usr/bin/python3 tests/e2e/test_metrics_slixmpp.py --server build/djabberd-actors

Exits 0 on success, 1 with the reason and the server log's tail.
Every wait is bounded; the whole test by --limit (90 s).
"""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "scenarios"))

import runner as sr  # noqa: E402  (Server: free port + temp config)
sys.path.insert(0, HERE)
import cluster_lib as cl  # noqa: E402  (TestFailure, run)

try:
    import slixmpp
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:  # pragma: no cover
    print("FAIL: %s (apt-get install python3-slixmpp python3-prometheus-client)" % e)
    sys.exit(1)

NAME = "test_metrics_slixmpp"
STEP = 10  # seconds per network step
N_AB, N_BA = 20, 5


TestFailure = cl.TestFailure


class Scrape:
    """One parsed exposition: samples by (name, labels) and family types."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        try:
            families = list(text_string_to_metric_families(text))
        except Exception as e:  # noqa: BLE001 - any parse error fails the test
            raise TestFailure("the exposition does not parse: %r\n%s" % (e, text[:2000]))
        for f in families:
            self.types[f.name] = f.type
            if not f.documentation:
                raise TestFailure("family %s has no HELP text" % f.name)
            for s in f.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                if key in self.samples:
                    raise TestFailure("sample %s%s twice" % key)
                self.samples[key] = s.value
        self.check_histograms(families)

    def check_histograms(self, families):
        for f in families:
            if f.type != "histogram":
                continue
            series = {}
            for s in f.samples:
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(labels, {"buckets": [], "count": None})
                if s.name.endswith("_bucket"):
                    series[labels]["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    series[labels]["count"] = s.value
            for labels, h in series.items():
                b = h["buckets"]
                if not b or b[-1][0] != float("inf"):
                    raise TestFailure("%s%s: no le=\"+Inf\" bucket last" % (f.name, labels))
                if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                    raise TestFailure("%s%s: buckets not increasing and cumulative: %s"
                                      % (f.name, labels, b))
                if h["count"] != b[-1][1]:
                    raise TestFailure("%s%s: _count %s != +Inf bucket %s"
                                      % (f.name, labels, h["count"], b[-1][1]))

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            raise TestFailure("no sample %s%s in the scrape" % (name, labels))
        return self.samples[key]

    def matching(self, name, **labels):
        """Samples of `name` whose labels include `labels`."""
        out = []
        for (n, ls), v in self.samples.items():
            d = dict(ls)
            if n == name and all(d.get(k) == val for k, val in labels.items()):
                out.append((d, v))
        return out


def ctl(binary, config, *args):
    p = subprocess.run([binary, "ctl", "--config", config] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=STEP + 10)
    if p.returncode != 0:
        raise TestFailure("ctl %s: exit %d: %s%s" % (" ".join(args), p.returncode, p.stdout,
                                                    p.stderr))
    return p.stdout


def scrape(binary, config):
    return Scrape(ctl(binary, config, "metrics"))


async def poll(binary, config, pred, what):
    """Scrapes until `pred(scrape)` holds (bounded)."""
    deadline = time.monotonic() + STEP
    loop = asyncio.get_event_loop()
    while True:
        s = await loop.run_in_executor(None, scrape, binary, config)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            raise TestFailure("%s not seen within %ds" % (what, STEP))
        await asyncio.sleep(0.1)


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.get_event_loop().create_future()
        self.got = []
        self.changed = asyncio.Event()
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_auth", lambda *_: self._fail("authentication failed"))
        self.add_event_handler("disconnected", lambda *_: self._fail("disconnected"))

    def _fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(TestFailure("%s: %s" % (self.boundjid.bare, why)))

    async def _on_start(self, _):
        try:
            await self.get_roster(timeout=STEP)
        except Exception as e:  # noqa: BLE001
            self._fail("roster get failed: %r" % e)
            return
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_message(self, m):
        if m["type"] in ("chat", "normal") and m["body"]:
            self.got.append(m["body"])
            self.changed.set()

    async def until_got(self, n):
        deadline = time.monotonic() + STEP
        while len(self.got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: %d of %d messages within %ds"
                                  % (self.boundjid.bare, len(self.got), n, STEP))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass


async def login(port, jid):
    bot = Bot(jid, "pw")
    bot.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(bot.ready, STEP)
    except asyncio.TimeoutError:
        raise TestFailure("%s: no session within %ds" % (jid, STEP))
    return bot


async def leave(bot):
    fut = bot.disconnect(wait=1.0)
    if fut is not None:
        await asyncio.wait_for(fut, STEP)


C2S_MSG_IN = dict(stream="c2s", direction="in", kind="message")
C2S_MSG_OUT = dict(stream="c2s", direction="out", kind="message")


def idle_checks(s):
    for fam, typ in (("dja_connections", "gauge"), ("dja_stanzas", "counter"),
                     ("dja_route_duration_seconds", "histogram"),
                     ("dja_hook_duration_seconds", "histogram"),
                     ("dja_hook_calls", "counter"), ("dja_actor_mailbox_depth", "gauge"),
                     ("process_cpu_seconds", "counter"),
                     ("process_resident_memory_bytes", "gauge"),
                     ("process_open_fds", "gauge"), ("process_start_time_seconds", "gauge")):
        if s.types.get(fam) != typ:
            raise TestFailure("family %s: type %r, expected %s" % (fam, s.types.get(fam), typ))
    if s.get("dja_sessions") != 0 or s.get("dja_connections", kind="c2s") != 0:
        raise TestFailure("idle server: %s sessions, %s c2s connections"
                          % (s.get("dja_sessions"), s.get("dja_connections", kind="c2s")))
    if s.get("dja_metrics_enabled") != 1:
        raise TestFailure("dja_metrics_enabled is not 1 by default")
    if s.get("process_resident_memory_bytes") < 1 << 20:
        raise TestFailure("process_resident_memory_bytes %s" % s.get("process_resident_memory_bytes"))
    start = s.get("process_start_time_seconds")
    if abs(start - time.time()) > 600:
        raise TestFailure("process_start_time_seconds %s is not about now (%s)" % (start, time.time()))
    ups = s.matching("dja_actor_up")
    kinds = sorted({d["actor"] for d, _ in ups})
    if kinds != ["router_shard", "vhost"] or any(v != 1 for _, v in ups):
        raise TestFailure("dja_actor_up: %s" % ups)
    if len(s.matching("dja_actor_mailbox_depth")) != len(ups):
        raise TestFailure("a mailbox depth per hot actor: %s" % s.matching("dja_actor_mailbox_depth"))
    print("  idle: parsed (%d families, %d samples); 0 sessions, 0 c2s connections; "
          "%d hot actors up; RSS %.1f MiB, %d fds"
          % (len(s.types), len(s.samples), len(ups),
             s.get("process_resident_memory_bytes") / 2**20, s.get("process_open_fds")))


def hook(s, name, plugin, hook_name):
    return s.get(name, vhost="localhost", plugin=plugin, hook=hook_name)


async def clients(binary, config, port):
    loop = asyncio.get_event_loop()
    s0 = await loop.run_in_executor(None, scrape, binary, config)
    idle_checks(s0)
    bots = []
    try:
        alice = await login(port, "alice@localhost/metrics")
        bots.append(alice)
        bob = await login(port, "bob@localhost/metrics")
        bots.append(bob)
        for i in range(N_AB):
            alice.send_message(mto=bob.boundjid.full, mbody="a%d" % i, mtype="chat")
        await bob.until_got(N_AB)
        for i in range(N_BA):
            bob.send_message(mto=alice.boundjid.full, mbody="b%d" % i, mtype="chat")
        await alice.until_got(N_BA)
        print("  alice -> bob %d messages, bob -> alice %d: delivered" % (N_AB, N_BA))
        s1 = await poll(binary, config,
                        lambda s: s.get("dja_stanzas_total", **C2S_MSG_OUT)
                        - s0.get("dja_stanzas_total", **C2S_MSG_OUT) >= N_AB + N_BA,
                        "%d c2s messages out" % (N_AB + N_BA))
        got = {
            "sessions": s1.get("dja_sessions"),
            "users": s1.get("dja_users_online"),
            "c2s connections": s1.get("dja_connections", kind="c2s"),
        }
        if got != {"sessions": 2, "users": 2, "c2s connections": 2}:
            raise TestFailure("with alice and bob online: %s" % got)

        def grew(name, **labels):
            return s1.get(name, **labels) - s0.get(name, **labels)
        checks = [
            ("c2s messages in", grew("dja_stanzas_total", **C2S_MSG_IN), N_AB + N_BA),
            ("c2s messages out", grew("dja_stanzas_total", **C2S_MSG_OUT), N_AB + N_BA),
            ("c2s iq in", grew("dja_stanzas_total", stream="c2s", direction="in", kind="iq"), 4),
            ("c2s presence in", grew("dja_stanzas_total", stream="c2s", direction="in",
                                     kind="presence"), 2),
            ("routed stanzas", grew("dja_route_duration_seconds_count"), N_AB + N_BA),
            ("binds", grew("dja_sessions_bound_total"), 2),
            ("c2s connections accepted", grew("dja_connections_accepted_total", kind="c2s"), 2),
        ]
        for what, n, least in checks:
            if n < least:
                raise TestFailure("%s grew by %s, expected >= %d" % (what, n, least))
        roster_calls = hook(s1, "dja_hook_calls_total", "roster.sqlite", "roster.get")
        roster_lat = hook(s1, "dja_hook_duration_seconds_count", "roster.sqlite", "roster.get")
        roster_err = hook(s1, "dja_hook_errors_total", "roster.sqlite", "roster.get")
        if roster_calls < 2 or roster_lat != roster_calls or roster_err != 0:
            raise TestFailure("roster.sqlite roster.get: %s calls, %s timed, %s errors"
                              % (roster_calls, roster_lat, roster_err))
        auth = [v for d, v in s1.matching("dja_hook_calls_total", plugin="auth.static")]
        if sum(auth) < 2:
            raise TestFailure("auth.static hook calls: %s" % s1.matching("dja_hook_calls_total",
                                                                          plugin="auth.static"))
        print("  online: sessions 2, users 2, c2s connections 2; " + ", ".join(
            "%s +%d" % (w, n) for w, n, _ in checks)
            + "; roster.get %d calls timed, 0 errors; auth.static %d calls"
            % (roster_calls, sum(auth)))

        await leave(bob)
        bots.remove(bob)
        await poll(binary, config,
                   lambda s: s.get("dja_sessions") == 1
                   and s.get("dja_connections", kind="c2s") == 1,
                   "1 session and 1 c2s connection after bob left")
        print("  bob left: sessions 1, c2s connections 1")
    finally:
        for b in bots:
            try:
                await leave(b)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


async def metrics_off(binary, config, port):
    bots = []
    try:
        alice = await login(port, "alice@localhost/off")
        bots.append(alice)
        alice.send_message(mto=alice.boundjid.full, mbody="to myself", mtype="chat")
        await alice.until_got(1)
        s = await poll(binary, config, lambda s: s.get("dja_sessions") == 1,
                       "the session (probed) with metrics off")
        counted = sum(v for _, v in s.matching("dja_stanzas_total"))
        if s.get("dja_metrics_enabled") != 0 or counted != 0 \
                or s.get("dja_connections", kind="c2s") != 0:
            raise TestFailure("metrics = false: enabled %s, %s stanzas counted, %s connections"
                              % (s.get("dja_metrics_enabled"), counted,
                                 s.get("dja_connections", kind="c2s")))
        print("  metrics = false: nothing counted, dja_sessions 1 from the probes")
    finally:
        for b in bots:
            try:
                await leave(b)
            except Exception:  # noqa: BLE001
                pass


def with_server(binary, template, play):
    server = sr.Server(binary, template)
    try:
        server.start()
        config = os.path.join(server.tmp, "server.toml")
        cl.run(play(binary, config, server.port), 40)
        if server.proc.poll() is not None:
            raise TestFailure("the server exited during the test (%s)" % server.proc.returncode)
        problem = server.stop()
        if problem:
            raise TestFailure(problem)
    except (TestFailure, sr.Failure) as e:
        raise TestFailure("%s\n--- server log (%s) ---\n%s"
                          % (e, server.log_path, server.log_tail(40)))
    finally:
        server.stop()
        server.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=90)
    args = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    def on_alarm(_sig, _frm):
        raise TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    binary = os.path.abspath(args.server)
    im = os.path.join(REPO, "scenarios", "configs", "im.toml")
    try:
        print("metrics on (the default):")
        with_server(binary, im, clients)
        with open(im, encoding="utf-8") as f:
            text = f.read()
        with tempfile.TemporaryDirectory(prefix="dja-metrics-") as tmp:
            off = os.path.join(tmp, "off.toml")
            with open(off, "w", encoding="utf-8") as f:
                f.write(text.replace("[server]\n", "[server]\nmetrics = false\n", 1))
            print("metrics off:")
            with_server(binary, off, metrics_off)
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (TestFailure, subprocess.TimeoutExpired) as e:
        signal.alarm(0)
        print("FAIL %s: %s" % (NAME, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
