#!/usr/bin/python3
"""aioxmpp (Debian's python3-aioxmpp 0.13, TLS through pyOpenSSL) logs in
over STARTTLS with SCRAM -PLUS on by default. Its default security layer
offers aiosasl.SCRAM (no -PLUS) and PLAIN: SCRAM-SHA-256 with gs2 flag 'n',
which the server must accept although it offered -PLUS over TLS 1.2 (RFC 5802 §6). The
TLS version is pinned on the pyOpenSSL context.

aiosasl also has SCRAMPLUS with tls-unique (pyOpenSSL's get_finished()) and
tls-server-end-point, which aioxmpp leaves unused; the "scram-plus" cases
log in with them through a small SASL provider on TLS 1.2 (another
client's computation of both bindings; the default offers -PLUS over TLS
1.2 only).

    /usr/bin/python3 tests/e2e/test_plus_aioxmpp.py --server build/djabberd-actors
"""

import asyncio
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plus_lib as pl  # noqa: E402

EXPECTED = {
    "1.2": ("SCRAM-SHA-256", None),
    "1.3": ("SCRAM-SHA-256", None),
    "1.2 scram-plus tls-unique": ("SCRAM-SHA-256-PLUS", "tls-unique"),
    "1.2 scram-plus tls-server-end-point": ("SCRAM-SHA-256-PLUS", "tls-server-end-point"),
}


def prepare():
    try:
        import aioxmpp  # noqa: F401
        import OpenSSL  # noqa: F401
    except ImportError as e:
        raise pl.Unavailable("python3-aioxmpp is not installed (%s; tools/setup.sh --test)" % e)


def plus_provider(password, cb_type):
    """A SASL provider that runs aiosasl.SCRAMPLUS with `cb_type` only."""
    import aiosasl
    import aiosasl.channel_binding as cbs
    import aioxmpp.sasl
    import aioxmpp.security_layer as sl

    class Provider(sl.PasswordSASLProvider):
        async def execute(self, client_jid, features, xmlstream, tls_transport):
            conn = tls_transport.get_extra_info("ssl_object")
            cb = {"tls-unique": cbs.TLSUnique, "tls-server-end-point": cbs.TLSServerEndPoint}[cb_type](conn)

            async def credentials():
                return client_jid.localpart, password
            mech_class, token = self._find_supported(features, [aiosasl.SCRAMPLUS])
            if mech_class is None:
                raise pl.LoginFailed("aiosasl finds no -PLUS mechanism in the features")
            return await self._execute(aioxmpp.sasl.SASLXMPPInterface(xmlstream),
                                       aiosasl.SCRAMPLUS(credentials, cb), token)

    async def no_password(_jid, _n):
        return None
    return Provider(no_password)


async def session(host, port, jid, password, case):
    import aioxmpp
    import aioxmpp.connector
    import OpenSSL.SSL
    version, *variant = case.split()
    pin = {"1.2": OpenSSL.SSL.TLS1_2_VERSION, "1.3": OpenSSL.SSL.TLS1_3_VERSION}[version]
    layer = aioxmpp.make_security_layer(password, no_verify=True)
    default_factory = layer.ssl_context_factory
    contexts = []

    def pinned_context():
        ctx = default_factory()
        ctx.set_min_proto_version(pin)
        ctx.set_max_proto_version(pin)
        contexts.append(ctx)
        return ctx

    layer = layer._replace(ssl_context_factory=pinned_context)
    if variant:
        layer = layer._replace(sasl_providers=[plus_provider(password, variant[1])])
    client = aioxmpp.Client(aioxmpp.JID.fromstr(jid).replace(resource="aioxmpp"), layer,
                            override_peer=[(host, port, aioxmpp.connector.STARTTLSConnector())])
    async with client.connected():
        if not contexts:
            raise pl.LoginFailed("the pinned TLS context was not used")


def login(host, port, jid, password, version, verbose):
    logging.basicConfig(level=logging.DEBUG if verbose else logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(session(host, port, jid, password, version), pl.STEP))
    except asyncio.TimeoutError:
        raise pl.LoginFailed("no session within %d s" % pl.STEP)
    except pl.LoginFailed:
        raise
    except Exception as e:  # noqa: BLE001 - the library's own errors
        raise pl.LoginFailed("%s: %s" % (type(e).__name__, e))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


if __name__ == "__main__":
    sys.exit(pl.main("aioxmpp", login, EXPECTED, prepare))
