#!/usr/bin/python3
# A jsonl program (docs/plugins.md, "The jsonl protocol") with one fault,
# for the user named like it (argv[1]): "junk" prints junk on stdout
# instead of a reply, "hang" never answers that call, "crash" dies in the
# middle of the request, "block" hangs its main loop (so every later call
# hangs too, as in a program that serves one call at a time). Calls run on threads (many in flight), so a hang
# holds only its own call. alice/pw is answered correctly, so the tests
# check that a fault fails only the calls it holds. With argv[2] = a
# number of milliseconds, each call takes that long (bench/). The method
# "test.peak" (no hook; tests/plugins/external/jsonl_test.cpp) answers
# the most calls it ever had in progress at once.

import json
import os
import sys
import threading
import time

FAULT = sys.argv[1] if len(sys.argv) > 1 else ""
DELAY = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
out = threading.Lock()
active = [0, 0]  # calls in progress, the most at once


def reply(msg_id, result):
    with out:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg_id,
                                     "result": result}) + "\n")
        sys.stdout.flush()


def serve(msg):
    params = msg.get("params") or {}
    user = params.get("user", "").split("@")[0]
    if user == FAULT == "junk":
        with out:
            sys.stdout.write("Traceback: something went wrong\n")
            sys.stdout.flush()
        return
    if user == FAULT == "hang":
        print("faults: hanging on %s" % user, file=sys.stderr, flush=True)
        return  # never answered
    if user == FAULT == "crash":
        print("faults: crashing on %s" % user, file=sys.stderr, flush=True)
        os._exit(3)
    if msg["method"] == "test.peak":
        reply(msg["id"], active[1])
        return
    with out:
        active[0] += 1
        active[1] = max(active)
    if DELAY:
        time.sleep(DELAY)
    with out:
        active[0] -= 1
    if msg["method"] == "auth.check_password":
        reply(msg["id"], user in ("alice", "colon") and params["password"]
              == {"alice": "pw", "colon": "a:b\u20acc"}[user])
    else:
        reply(msg["id"], user in ("alice", "colon"))


for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("method") == "initialize":
        reply(msg["id"], {"hooks": ["auth.check_password",
                                    "auth.user_exists"]})
    elif "id" in msg and FAULT == "block" and \
            (msg.get("params") or {}).get("user", "").startswith("block@"):
        print("faults: blocking", file=sys.stderr, flush=True)
        time.sleep(3600)
    elif "id" in msg:
        threading.Thread(target=serve, args=(msg,), daemon=True).start()
