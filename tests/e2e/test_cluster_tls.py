#!/usr/bin/python3
"""End-to-end test: node links are mutually authenticated.

n1 and n2 have certificates from the cluster's CA; "rogue" has a certificate
from another CA (made by the test with the openssl CLI), dials n1 and n2, and
is dialled by n2. n1 and n2 must form a cluster; the rogue must never appear in their
`cluster status`, its users must not become reachable from n1, and n1 must
keep running. Also a plain TCP connection that sends garbage to n1's cluster
port is dropped without harm. And a configuration whose CA file is not a
certificate is refused at start (exit status 1).

    /usr/bin/python3 tests/e2e/test_cluster_tls.py --server build/djabberd-actors
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_lib as cl  # noqa: E402

NAME = "test_cluster_tls"
STEP = 10


async def rogue_unreachable(n1, rogue):
    mallory = await cl.Client("mallory", "m", rogue.c2s_port).connect()
    mallory.presence(0)
    alice = await cl.Client("alice", "a", n1.c2s_port).connect()
    alice.presence(0)
    await cl.asyncio.sleep(1.0)
    alice.message(mallory.jid, "hello-rogue", "r1")
    await cl.asyncio.sleep(1.5)
    if mallory.find(cl.is_msg("hello-rogue")):
        raise cl.TestFailure("a message from n1 reached a user on the rogue node")
    for c in (mallory, alice):
        await c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    def on_alarm(_s, _f):
        raise cl.TestFailure("hard time limit of %ds reached" % args.limit)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.limit)
    work = tempfile.mkdtemp(prefix="dja-cluster-")
    nodes = []
    try:
        binary = os.path.abspath(args.server)
        ca = cl.make_ca(work, "ca")
        other_ca = cl.make_ca(work, "other-ca")
        shared = os.path.join(work, "shared")
        rogue_shared = os.path.join(work, "rogue-shared")
        os.makedirs(shared)
        os.makedirs(rogue_shared)
        users = ["alice", "mallory"]
        n1 = cl.Node(binary, work, "n1", users, ca[0], cl.make_cert(work, ca, "n1"), shared)
        n2 = cl.Node(binary, work, "n2", users, ca[0], cl.make_cert(work, ca, "n2"), shared)
        # The rogue trusts our CA (so only our side's check can stop it) but
        # its own certificate is from another CA.
        rogue = cl.Node(binary, work, "rogue", users, ca[0],
                        cl.make_cert(work, other_ca, "rogue"), rogue_shared)
        nodes = [n1, n2, rogue]
        n1.peers = [n2.cluster_addr]
        # n2 also dials the rogue: our side refuses its server certificate.
        n2.peers = [n1.cluster_addr, rogue.cluster_addr]
        rogue.peers = [n1.cluster_addr, n2.cluster_addr]
        for n in nodes:
            n.start()
        cl.wait_cluster([n1, n2])
        time.sleep(2.0)  # the rogue has retried a few times by now
        # n1-n2 were up together (wait_cluster above). From here the rogue
        # must never be listed by either while it retries; their own link
        # flaps meanwhile (the KNOWN ISSUE below), so it is not required
        # to be up at any one poll (a re-dial after a flap shows the peer
        # as an unnamed "?" row for a moment), only seen at some poll.
        deadline = time.monotonic() + 3.0
        seen = {"n1": False, "n2": False}
        while time.monotonic() < deadline:
            for n in (n1, n2):
                rows = n.status_rows()
                if "rogue" in rows:
                    raise cl.TestFailure("%s lists %s (the rogue must not join)" % (n.name, rows))
                other = "n2" if n is n1 else "n1"
                seen[n.name] = seen[n.name] or other in rows
            time.sleep(0.5)
        if not all(seen.values()):
            raise cl.TestFailure("n1 and n2 did not list each other while the rogue "
                                 "retried: %s" % seen)
        rows = rogue.status_rows()
        if any(v[0] == "up" for k, v in rows.items() if k != "rogue"):
            raise cl.TestFailure("the rogue believes it is linked: %s" % rows)
        print("n1, n2 linked; rogue (certificate of another CA) refused; rogue sees %s" % rows)
        cl.run(rogue_unreachable(n1, rogue), 30)
        print("a user on the rogue node is not reachable from n1")
        # KNOWN ISSUE (docs/cluster.md): while the rogue keeps retrying, the
        # n1-n2 link flaps now and then; stop it before the next step.
        rogue.kill(signal.SIGTERM)
        # Garbage on the cluster port: dropped, n1 keeps running.
        s = socket.create_connection(("127.0.0.1", n1.cluster_port), 5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
        s.settimeout(5)
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
        time.sleep(0.5)
        if n1.proc.poll() is not None:
            raise cl.TestFailure("n1 died after garbage on its cluster port")
        cl.wait_cluster([n1, n2], 20)
        print("garbage on n1's cluster port: connection dropped, cluster intact")
        # A CA file that is no certificate: refused before anything starts.
        bad = cl.Node(binary, work, "bad", users, n1.key, cl.make_cert(work, ca, "bad"), shared)
        bad.write_config()
        r = subprocess.run([binary, "--config", bad.config], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        if r.returncode != 1 or "tls_ca" not in bad.log_tail(5):
            raise cl.TestFailure("a node with a bad tls_ca started or said nothing (status %d): %s"
                                 % (r.returncode, bad.log_tail(5)))
        print("bad tls_ca refused at start: %s" % bad.log_tail(1).strip())
        signal.alarm(0)
        print("PASS %s" % NAME)
        return 0
    except (cl.TestFailure, Exception) as e:  # noqa: BLE001
        signal.alarm(0)
        print("FAIL %s: %r" % (NAME, e))
        for n in nodes:
            print("--- %s log ---\n%s" % (n.name, n.log_tail(25)))
        return 1
    finally:
        for n in nodes:
            n.kill(signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
