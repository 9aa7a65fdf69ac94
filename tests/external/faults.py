#!/usr/bin/python3
# An ejabberd extauth script with one fault, for the user named like it
# (argv[1]): "junk" prints junk on stdout instead of a reply, "hang" never
# answers, "crash" dies in the middle of the request. Every other user
# gets correct answers (alice/pw), so the tests check that a fault fails
# only the call it holds.

import struct
import sys
import time

FAULT = sys.argv[1]

while True:
    head = sys.stdin.buffer.read(2)
    if len(head) != 2:
        sys.exit(0)
    (size,) = struct.unpack(">H", head)
    cmd = sys.stdin.buffer.read(size).decode("utf-8").split(":", 3)
    user = cmd[1]
    if user == FAULT == "junk":
        sys.stdout.write("Traceback: something went wrong\n")
        sys.stdout.flush()
        continue
    if user == FAULT == "hang":
        print("faults: hanging on %s" % user, file=sys.stderr, flush=True)
        time.sleep(3600)
    if user == FAULT == "crash":
        print("faults: crashing on %s" % user, file=sys.stderr, flush=True)
        sys.exit(3)
    ok = user == "alice" and (cmd[0] != "auth" or cmd[3] == "pw")
    sys.stdout.buffer.write(struct.pack(">HH", 2, 1 if ok else 0))
    sys.stdout.flush()
