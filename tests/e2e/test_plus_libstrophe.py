#!/usr/bin/python3
"""libstrophe (Debian's libstrophe-dev, OpenSSL) logs in over STARTTLS with
SCRAM -PLUS on by default: tests/e2e/clients/libstrophe_login.c, compiled
here. libstrophe 0.12.2 (Debian 12) has no channel binding (-PLUS came in
0.13): it must log in with SCRAM-SHA-256 and gs2 flag 'n' although the
server offered -PLUS over TLS 1.2 ('n' is no downgrade, RFC 5802 §6). The TLS version
is pinned with an OpenSSL configuration file (OPENSSL_CONF, MinProtocol =
MaxProtocol).

    /usr/bin/python3 tests/e2e/test_plus_libstrophe.py --server build/djabberd-actors
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-256", None),
    "1.3": ("SCRAM-SHA-256", None),
}
client = []


def prepare():
    client.append(pl.compile_client("libstrophe_login.c", "gcc", "libstrophe", "libstrophe_login"))


def login(host, port, jid, password, version, verbose):
    conf = pl.openssl_conf(version)
    try:
        pl.run_program([client[0], host, str(port), jid, password] + (["-v"] if verbose else []),
                       {"OPENSSL_CONF": conf}, verbose=verbose)
    finally:
        os.unlink(conf)


if __name__ == "__main__":
    sys.exit(pl.main("libstrophe", login, EXPECTED, prepare))
