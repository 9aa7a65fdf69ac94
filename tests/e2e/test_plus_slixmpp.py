#!/usr/bin/python3
"""slixmpp (Debian's python3-slixmpp 1.8) logs in over STARTTLS with SCRAM
-PLUS on by default. slixmpp knows only tls-unique (Python's ssl module):
on TLS 1.2 it must use SCRAM-SHA-256-PLUS with tls-unique, at the first
attempt. On TLS 1.3 the default ("tls1.2") offers no -PLUS, so slixmpp
uses SCRAM-SHA-256 (gs2 flag 'y', legitimate where no -PLUS is offered),
again at the first attempt: no failed authentication reaches the
application. (With sasl_channel_binding = "always" its tls-unique attempt
on TLS 1.3 would be refused first: tls-unique is undefined there, RFC 9266
§1; scenarios/sasl/scram_flag_y_after_unsupported_cb_type.scenario.) The
TLS version is pinned on the client's ssl.SSLContext.

    /usr/bin/python3 tests/e2e/test_plus_slixmpp.py --server build/djabberd-actors
"""

import asyncio
import logging
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-256-PLUS", "tls-unique"),
    "1.3": ("SCRAM-SHA-256", None),
}
REFUSED_FIRST = {"1.2": [], "1.3": []}


def prepare():
    try:
        import slixmpp  # noqa: F401
    except ImportError:
        raise pl.Unavailable("python3-slixmpp is not installed (tools/setup.sh)")


async def session(host, port, jid, password, version):
    import slixmpp
    bot = slixmpp.ClientXMPP(jid + "/slixmpp", password)
    ready = asyncio.get_event_loop().create_future()
    refused = []
    pin = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
    bot.ssl_context.check_hostname = False
    bot.ssl_context.verify_mode = ssl.CERT_NONE
    bot.ssl_context.minimum_version = pin
    bot.ssl_context.maximum_version = pin

    def on_failed_auth(_stanza):
        mech = bot["feature_mechanisms"].mech
        refused.append(mech.name if mech else "?")

    def on_end(*_):
        if not ready.done():
            ready.set_exception(pl.LoginFailed("no session (refused mechanisms: %s)" % refused))

    bot.add_event_handler("session_start", lambda _e: ready.done() or ready.set_result(True))
    bot.add_event_handler("failed_auth", on_failed_auth)
    bot.add_event_handler("failed_all_auth", on_end)
    bot.add_event_handler("disconnected", on_end)
    bot.connect(address=(host, port), use_ssl=False, force_starttls=True, disable_starttls=False)
    try:
        await asyncio.wait_for(ready, pl.STEP)
        got = bot.socket.version()
        if got != "TLSv" + version:
            raise pl.LoginFailed("negotiated %s" % got)
        if refused != REFUSED_FIRST[version]:
            raise pl.LoginFailed("refused before the login: %s, expected %s" % (refused, REFUSED_FIRST[version]))
        print("  slixmpp: refused first: %s" % (refused or "none"))
    except asyncio.TimeoutError:
        raise pl.LoginFailed("no session within %d s (refused mechanisms: %s)" % (pl.STEP, refused))
    finally:
        fut = bot.disconnect(wait=1.0)
        if fut is not None:
            try:
                await asyncio.wait_for(fut, 5)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def login(host, port, jid, password, version, verbose):
    logging.basicConfig(level=logging.DEBUG if verbose else logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(session(host, port, jid, password, version))
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


if __name__ == "__main__":
    sys.exit(pl.main("slixmpp", login, EXPECTED, prepare))
