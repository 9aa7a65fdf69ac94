#!/usr/bin/python3
"""gloox (Debian's libgloox-dev, GnuTLS) logs in over STARTTLS with SCRAM
-PLUS on by default: tests/e2e/clients/gloox_login.cpp, compiled here.

gloox 1.0.24 knows SCRAM-SHA-1(-PLUS) with tls-unique only, and it
negotiates TLS 1.2 at most (its own GnuTLS priorities leave TLS 1.3 out:
with TLS 1.2 disabled in the system priorities it offers no version the
server accepts), so only TLS 1.2 is tested: it must log in with
SCRAM-SHA-1-PLUS and tls-unique (RFC 5929 §3). The version is pinned all
the same with a GnuTLS system priority file (GNUTLS_SYSTEM_PRIORITY_FILE).

    /usr/bin/python3 tests/e2e/test_plus_gloox.py --server build/djabberd-actors
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-1-PLUS", "tls-unique"),
}
client = []


def prepare():
    client.append(pl.compile_client("gloox_login.cpp", "g++", "gloox", "gloox_login"))


def login(host, port, jid, password, version, verbose):
    prio = pl.gnutls_priority_file(version)
    try:
        out = pl.run_program([client[0], host, str(port), jid, password],
                             {"GNUTLS_SYSTEM_PRIORITY_FILE": prio}, verbose=verbose)
    finally:
        os.unlink(prio)
    if "TLS: TLS%s" % version not in out:
        raise pl.LoginFailed("gloox did not report TLS %s:\n%s" % (version, out))


if __name__ == "__main__":
    sys.exit(pl.main("gloox", login, EXPECTED, prepare))
