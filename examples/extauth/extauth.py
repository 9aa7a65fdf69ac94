#!/usr/bin/python3
# An ejabberd extauth script written the way ejabberd's documentation
# shows (2-byte big-endian length, then "cmd:user:server[:password]";
# reply 2-byte length 2, then 0 or 1), used unchanged by the `external`
# plugin with protocol = "ejabberd". Users live in a dict; a password may
# contain ':' (split on the first colons only) and non-ASCII characters
# (the length counts UTF-8 bytes).

import struct
import sys

USERS = {"alice": "pw", "bob": "pw", "colon": "a:b\u20acc"}


def from_ejabberd():
    input_length = sys.stdin.buffer.read(2)
    if len(input_length) != 2:
        sys.exit(0)  # ejabberd closed the pipe
    (size,) = struct.unpack(">h", input_length)
    return sys.stdin.buffer.read(size).decode("utf-8").split(":", 3)


def to_ejabberd(result):
    sys.stdout.buffer.write(struct.pack(">hh", 2, 1 if result else 0))
    sys.stdout.flush()


def auth(user, server, password):
    return USERS.get(user) == password


def isuser(user, server):
    return user in USERS


def setpass(user, server, password):
    if user not in USERS:
        return False
    USERS[user] = password
    return True


def tryregister(user, server, password):
    if user in USERS:
        return False
    USERS[user] = password
    return True


def removeuser(user, server):
    return USERS.pop(user, None) is not None


while True:
    data = from_ejabberd()
    success = False
    if data[0] == "auth":
        success = auth(data[1], data[2], data[3])
    elif data[0] == "isuser":
        success = isuser(data[1], data[2])
    elif data[0] == "setpass":
        success = setpass(data[1], data[2], data[3])
    elif data[0] == "tryregister":
        success = tryregister(data[1], data[2], data[3])
    elif data[0] == "removeuser":
        success = removeuser(data[1], data[2])
    elif data[0] == "removeuser3":
        success = auth(data[1], data[2], data[3]) and removeuser(data[1], data[2])
    print("extauth: %s %s -> %d" % (data[0], data[1], success), file=sys.stderr)
    to_ejabberd(success)
