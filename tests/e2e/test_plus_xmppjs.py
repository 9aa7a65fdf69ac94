#!/usr/bin/python3
"""xmpp.js (npm @xmpp/client, on Debian's node) logs in over STARTTLS with
SCRAM -PLUS on by default: tests/e2e/xmppjs/login.js. xmpp.js has no
channel binding: SCRAM-SHA-1 with gs2 flag 'n', which the server must
accept although it offered -PLUS over TLS 1.2 (RFC 5802 §6). The TLS version is pinned
with node's --tls-min-v1.x / --tls-max-v1.x; the self-signed test
certificate is accepted with NODE_TLS_REJECT_UNAUTHORIZED=0.

xmpp.js is installed by `tools/setup.sh --test` into tests/e2e/xmppjs/
(npm ci from package-lock.json); without it the test is skipped.

    /usr/bin/python3 tests/e2e/test_plus_xmppjs.py --server build/djabberd-actors
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-1", None),
    "1.3": ("SCRAM-SHA-1", None),
}
DIR = os.path.join(pl.HERE, "xmppjs")


def prepare():
    if shutil.which("node") is None:
        raise pl.Unavailable("node is not installed")
    if not os.path.isdir(os.path.join(DIR, "node_modules", "@xmpp", "client")):
        raise pl.Unavailable("@xmpp/client is not installed in %s (tools/setup.sh --test runs npm ci there)" % DIR)


def login(host, port, jid, password, version, verbose):
    user, domain = jid.split("@")
    flags = {"1.2": ["--tls-min-v1.2", "--tls-max-v1.2"], "1.3": ["--tls-min-v1.3", "--tls-max-v1.3"]}[version]
    out = pl.run_program(["node"] + flags + [os.path.join(DIR, "login.js"), "xmpp://%s:%d" % (host, port),
                                             domain, user, password],
                         {"NODE_TLS_REJECT_UNAUTHORIZED": "0", "NODE_NO_WARNINGS": "1"}, verbose=verbose)
    if "TLS TLSv%s" % version not in out:
        raise pl.LoginFailed("xmpp.js did not report TLS %s:\n%s" % (version, out))


if __name__ == "__main__":
    sys.exit(pl.main("xmppjs", login, EXPECTED, prepare))
