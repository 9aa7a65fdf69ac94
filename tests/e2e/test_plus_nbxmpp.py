#!/usr/bin/python3
"""nbxmpp (Debian's python3-nbxmpp, Gajim's library: GLib main loop, Gio
TLS through glib-networking's GnuTLS) logs in over STARTTLS with SCRAM
-PLUS on by default. nbxmpp 4.2 drops the -PLUS mechanisms itself ("not
supported via GLib", nbxmpp/sasl.py) and uses SCRAM-SHA-256 with gs2 flag
'n', which the server must accept although it offered -PLUS over TLS 1.2 (RFC 5802 §6:
'n' is no downgrade). The TLS version is pinned with a GnuTLS system
priority file (GNUTLS_SYSTEM_PRIORITY_FILE, read by glib-networking when
it loads GnuTLS), so each login runs in its own process.

    /usr/bin/python3 tests/e2e/test_plus_nbxmpp.py --server build/djabberd-actors
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-256", None),
    "1.3": ("SCRAM-SHA-256", None),
}


def prepare():
    try:
        import gi  # noqa: F401
        import nbxmpp  # noqa: F401
    except ImportError as e:
        raise pl.Unavailable("python3-nbxmpp is not installed (%s; tools/setup.sh --test)" % e)


def child(host, port, jid, password, verbose):
    """One login in this process: exit 0 once connected."""
    import logging
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import GLib
    from nbxmpp.client import Client
    from nbxmpp.const import ConnectionProtocol, ConnectionType
    if verbose:
        logging.basicConfig(level=logging.DEBUG)
    user, domain = jid.split("@")
    loop = GLib.MainLoop()
    result = {"ok": False, "why": "no answer"}
    client = Client()
    client.set_domain(domain)
    client.set_username(user)
    client.set_resource("nbxmpp")
    client.set_password(password)
    client.set_custom_host("%s:%d" % (host, port), ConnectionProtocol.TCP, ConnectionType.START_TLS)
    client.set_ignore_tls_errors(True)  # the test certificate is self-signed

    def connected(_client, _signal):
        result["ok"] = True
        print("session established as %s, TLS version %s" % (client.get_bound_jid(), client.tls_version))
        client.disconnect()

    def failed(_client, _signal, *_):
        result["why"] = "connection failed: %s" % (client.get_error(),)
        loop.quit()

    def disconnected(_client, _signal, *_):
        if not result["ok"]:
            result["why"] = "disconnected: %s" % (client.get_error(),)
        loop.quit()

    client.subscribe("connected", connected)
    client.subscribe("connection-failed", failed)
    client.subscribe("disconnected", disconnected)
    GLib.timeout_add_seconds(pl.STEP - 2, loop.quit)
    client.connect()
    loop.run()
    if not result["ok"]:
        print(result["why"])
    return 0 if result["ok"] else 1


def login(host, port, jid, password, version, verbose):
    prio = pl.gnutls_priority_file(version)
    try:
        out = pl.run_program([sys.executable, os.path.abspath(__file__), "--child", host, str(port), jid, password]
                             + (["-v"] if verbose else []),
                             {"GNUTLS_SYSTEM_PRIORITY_FILE": prio}, verbose=verbose)
    finally:
        os.unlink(prio)
    print("  " + out.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], "-v" in sys.argv[6:]))
    sys.exit(pl.main("nbxmpp", login, EXPECTED, prepare))
