#!/usr/bin/python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ from the
scenarios' stanzas, the configuration examples and RFC examples. Run it
again after adding scenarios; files named crash-* (inputs that once crashed
a harness, kept as regression tests) are left alone."""
import hashlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus"
HDR = ("<?xml version='1.0'?><stream:stream to='localhost' "
       "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
       "version='1.0'>")
S2S_HDR = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' "
           "xmlns:db='jabber:server:dialback' from='remote.example' "
           "to='localhost' version='1.0'>")


def write(target, data, name=None):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = name or hashlib.sha1(data).hexdigest()[:16]
    (d / name).write_bytes(data)


def scenario_stanzas():
    out = []
    for f in sorted((ROOT / "scenarios").rglob("*.scenario")):
        text = f.read_text()
        for m in re.finditer(r"^\S+ sends: (<.*)$", text, re.M):
            out.append(m.group(1))
        # Blocks: "alice sends:" then indented lines of XML.
        for m in re.finditer(r"^\S+ sends:\n((?:[ \t]+<.*\n)+)", text,
                             re.M):
            out.append("".join(l.strip() for l in m.group(1).splitlines()))
    return sorted(set(out))


def main():
    stanzas = scenario_stanzas()
    # Whole streams of a few stanzas each, and one stanza per file for the
    # element round trips.
    for i in range(0, len(stanzas), 8):
        write("stream_parser", HDR + "".join(stanzas[i:i + 8])
              + "</stream:stream>")
    for s in stanzas[::3]:
        write("stored_xml", s)
        write("cluster_wire", s)
    write("stream_parser", HDR + "<message><body>&lt;&amp;&#x263a;</body>"
          "</message><iq type='get' id='1' xmlns:p='urn:p'><p:q p:a='1'/>"
          "</iq>")
    write("stream_parser", "<?xml version='1.0' encoding='UTF-16'?>"
          "<stream:stream xmlns='jabber:client'>")
    write("stream_parser", HDR + "<!DOCTYPE x><message/>")
    write("stream_parser", HDR + "<message>" + "<a>" * 200 + "</message>")
    write("stored_xml", "<vCard xmlns='vcard-temp'><FN>Peter Saint-Andre"
          "</FN><N><FAMILY>Saint-Andre</FAMILY><GIVEN>Peter</GIVEN></N>"
          "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL>"
          "</PHOTO></vCard>")
    write("stored_xml", "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet"
          "</defaultnick></exodus>")
    write("stored_xml", "<item jid='nurse@example.com' name='Nurse' "
          "subscription='both' ask='subscribe'><group>Servants</group>"
          "<group>Friends &amp; Family</group></item>")
    write("stored_xml", "<message to='juliet@example.com' type='chat'>"
          "<body>Wherefore art thou?</body><thread>e0ffe42b</thread>"
          "</message>")
    # RFC 7622 §3 examples and edge cases.
    for j in ["juliet@example.com", "juliet@example.com/foo",
              "juliet@example.com/foo bar", "juliet@example.com/foo@bar",
              "foo\\20bar@example.com", "fussball@example.com",
              "fu\u00dfball@example.com", "\u03c0@example.com",
              "\u03a3@example.com/foo", "king@example.com/\u265a",
              "example.com", "example.com/foobar", "a.example.com/b@example.net",
              "[::1]", "192.0.2.1/r", "EXAMPLE.com.", "@example.com",
              "user@/r", "x" * 1024 + "@example.com",
              "caf\u00e9@xn--bcher-kva.example/R\u00e9sum\u00e9"]:
        write("jid", j)
    # SASL: flag byte, client-first '\n' client-final (RFC 5802 §5,
    # RFC 7677 §3), and PLAIN payloads.
    write("sasl", b"\x00n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL\nc=biws,"
          b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
          b"p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
    write("sasl", b"\x01n,,n=user,r=rOprNGfwEbeRWgbNEkqO\nc=biws,"
          b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
          b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    write("sasl", b"\x07p=tls-exporter,a=user,n=user,r=abc\n"
          b"c=cD10bHMtZXhwb3J0ZXIsYT11c2VyLFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa"
          b"WlpaWlpaWlpaWlpaWlo=,r=abc,p=AAAA")
    write("sasl", b"\x11n,,n=nobody,m=x,r=abc\nc=biws,r=abc,p=AAAA")
    write("sasl", b"\x04y,,n=us=2Cer=3D,r=abc\nc=eSws,r=abc,p=AAAA")
    write("sasl", "AGp1bGlldAByMG0zMG15cjBtMzA=")
    write("sasl", "AGp1bGlldA==")
    write("sasl", "=")
    write("sasl", "cm9tZW8AanVsaWV0AHB3")
    # Dialback (XEP-0220 §2) and s2s headers.
    write("dialback", S2S_HDR + "<db:result from='remote.example' "
          "to='localhost'>b4835385f37fe2895af6c196b59097b16862406db80559900d"
          "96bf6fb7e7ec8c</db:result>")
    write("dialback", S2S_HDR + "<db:verify from='localhost' "
          "to='remote.example' id='417GAF25'>b4835385f37fe2895af6c196b5909"
          "7b16862406db80559900d96bf6fb7e7ec8c</db:verify>")
    write("dialback", S2S_HDR + "<db:result from='remote.example' "
          "to='localhost' type='valid'/><message from='a@remote.example' "
          "to='b@localhost'><body>hi</body></message>")
    write("dialback", "<stream:stream xmlns='jabber:server' "
          "xmlns:stream='http://etherx.jabber.org/streams' "
          "to='LOCALHOST' from='a&amp;b' id='&lt;x&gt;'>")
    write("dialback", S2S_HDR + "<starttls xmlns='urn:ietf:params:xml:ns:"
          "xmpp-tls'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
          "mechanism='EXTERNAL'>=</auth>")
    # Configurations.
    for f in sorted((ROOT / "scenarios/configs").glob("*.toml")) + \
            sorted((ROOT / "config").glob("*.toml")):
        write("config", f.read_bytes())
    write("config", "[server]\nmax_stanza_size = -1\n[limits]\n"
          "c2s_stanza_size = \"x\"\n[[vhost]]\nname = 3\n")


if __name__ == "__main__":
    main()
