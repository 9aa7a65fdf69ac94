#!/usr/bin/python3
"""Serves auth, rosters and vCards from a JSON file to djabberd-actors over
the `external` plugin's jsonl protocol (docs/plugins.md, "The jsonl
protocol"): one JSON-RPC 2.0 message per line on stdin and stdout.
Standard library only.

    serve.py users.json

users.json: {"users": {"alice": {"password": "pw",
                                 "roster": [{"jid": "bob@example.org",
                                             "subscription": "both"}],
                                 "vcard": {"FN": "Alice", "NICKNAME": "al"}}}}

Log lines go to stderr (the server logs them under the plugin's tag);
stdout carries only protocol messages.
"""

import base64
import hashlib
import hmac
import json
import sys
from xml.sax.saxutils import escape

DATA = {}


def log(text):
    print("serve.py: " + text, file=sys.stderr, flush=True)


def account(jid):
    """The entry of a bare JID 'user@domain', or None."""
    return DATA.get("users", {}).get(jid.split("@", 1)[0]) if "@" in jid else None


def initialize(params):
    global DATA
    path = sys.argv[1] if len(sys.argv) > 1 else "users.json"
    with open(path, encoding="utf-8") as f:
        DATA = json.load(f)
    log("%d users from %s (server %s %s)" % (
        len(DATA.get("users", {})), path,
        params["server"]["name"], params["server"]["version"]))
    # The iq hook is asked for the keys listed in "iqs" only.
    return {"hooks": ["auth.check_password", "auth.user_exists",
                      "auth.get_scram", "roster.get", "session.closed"],
            "iqs": ["get vcard-temp"]}


def check_password(params):
    user = account(params["user"])
    if user is None:
        return None  # not ours: the next plugin of the chain decides
    return user.get("password") == params["password"]


def get_scram(params):
    """SCRAM credentials (RFC 5802 §3) from the password in the file, so
    the server offers SCRAM-SHA-1/-256 too. A real store keeps only these.
    """
    user = account(params["user"])
    if user is None:
        return None
    h = {"SHA-1": "sha1", "SHA-256": "sha256"}[params["hash"]]
    salt = hashlib.sha256(params["user"].encode()).digest()[:16]
    salted = hashlib.pbkdf2_hmac(h, user["password"].encode(), salt, 4096)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return {"found": True, "salt": b64(salt), "iterations": 4096,
            "stored_key": b64(hashlib.new(h, client_key).digest()),
            "server_key": b64(hmac.new(salted, b"Server Key", h).digest())}


def user_exists(params):
    return True if account(params["user"]) is not None else None


def roster_get(params):
    user = account(params["user"])
    if user is None:
        return None
    return {"version": "", "items": user.get("roster", [])}


def iq(params):
    # Only "get vcard-temp" is declared, so only those iqs come here.
    user = account(params["to"])
    if user is None:
        return None  # <service-unavailable/>
    fields = "".join("<%s>%s</%s>" % (k, escape(v), k)
                     for k, v in user.get("vcard", {}).items())
    return "<iq type='result'><vCard xmlns='vcard-temp'>%s</vCard></iq>" % fields


def session_closed(params):
    # A notify hook: a notification, nothing is answered.
    log("%s left (%s)" % (params["full"], params["reason"]))


METHODS = {
    "initialize": initialize,
    "auth.check_password": check_password,
    "auth.user_exists": user_exists,
    "auth.get_scram": get_scram,
    "roster.get": roster_get,
    "iq": iq,
    "session.closed": session_closed,
}


for line in sys.stdin:
    msg = json.loads(line)
    method = METHODS.get(msg.get("method"))
    if "id" not in msg:  # a notification: no reply
        if method is not None:
            method(msg.get("params", {}))
        continue
    if method is None:
        reply = {"error": {"code": -32601, "message": "no such method"}}
    else:
        try:
            reply = {"result": method(msg.get("params", {}))}
        except Exception as e:  # a bug here fails the call, not the program
            log("%s failed: %r" % (msg["method"], e))
            reply = {"error": {"code": -32000, "message": str(e)}}
    reply.update({"jsonrpc": "2.0", "id": msg["id"]})
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
