"""The scenario language: statements, blocks, headers; parse_scenario()
turns a .scenario file into a Scenario (syntax in scenarios/README.md).

Part of the scenario runner (runner.py); standard library only.
"""

import re
import textwrap

from scn_xml import DEFAULT_TIMEOUT, PH, ScenarioError, parse_pattern


# --------------------------------------------------------------------------
# Scenario files

DUR = r"(?P<t>\d+(?:\.\d+)?\s*(?:ms|s))"
NAME = r"(?P<c>[A-Za-z][\w-]*)"
WITHIN = r"(?:\s+within\s+%s)?" % DUR

# options of "X authenticates with MECH ..." (see Player.do_sasl)
AUTH_OPT = (r"(?:using password \S+|as \S+|with authzid \S+|with corrupted proof|with wrong channel binding"
            r"|with channel binding [\w.-]+|with flag [ny])")
MECH_RX = r"(?:PLAIN|SCRAM-SHA-(?:1|256|512)(?:-PLUS)?)"

STATEMENTS = [
    ("connect_component_raw", re.compile(r"^%s connects component raw%s$" % (NAME, WITHIN))),
    ("connect_component", re.compile(r"^%s connects component(?: expecting stream error (?P<conds>[\w|-]+))?%s$"
                                     % (NAME, WITHIN))),
    ("connect_raw", re.compile(r"^%s connects raw$" % NAME)),
    ("connect_tls_raw", re.compile(r"^%s connects tls raw%s$" % (NAME, WITHIN))),
    ("connect_tls", re.compile(r"^%s connects tls%s$" % (NAME, WITHIN))),
    ("connect", re.compile(r"^%s connects%s$" % (NAME, WITHIN))),
    ("starttls", re.compile(r"^%s starts tls%s$" % (NAME, WITHIN))),
    ("open", re.compile(r"^%s opens stream%s$" % (NAME, WITHIN))),
    ("auth_with", re.compile(r"^%s authenticates with (?P<mech>[A-Za-z0-9_-]+)(?P<opts>(?:\s+%s)*)"
                             r"(?:\s+expecting failure (?P<conds>[\w|-]+)"
                             r"(?:\s+(?P<when>after challenge|without challenge))?)?%s$" % (NAME, AUTH_OPT, WITHIN))),
    ("auth", re.compile(r"^%s authenticates%s$" % (NAME, WITHIN))),
    ("bind", re.compile(r"^%s binds%s$" % (NAME, WITHIN))),
    ("send_raw", re.compile(r"^%s sends raw:\s?(?P<inline>.*)$" % NAME)),
    ("send_big", re.compile(r"^%s sends (?P<n>\d+(?:\.\d+)?)\s*(?P<unit>bytes|B|KiB|KB|MiB|MB) of garbage "
                            r"inside a message(?: to (?P<to>\S+))?%s$" % (NAME, WITHIN))),
    ("send", re.compile(r"^%s sends:\s*(?P<inline>.*)$" % NAME)),
    ("recv_nothing", re.compile(r"^%s receives nothing%s$" % (NAME, WITHIN))),
    ("recv_header", re.compile(r"^%s receives stream header%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("recv_error", re.compile(r"^%s receives stream error%s:\s*(?P<conds>[\w|-]+)$" % (NAME, WITHIN))),
    ("recv_any", re.compile(r"^%s receives in any order%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("recv", re.compile(r"^%s receives%s:\s*(?P<inline>.*)$" % (NAME, WITHIN))),
    ("features", re.compile(r"^%s has features:\s*(?P<inline>.*)$" % NAME)),
    ("disconnected", re.compile(r"^%s is disconnected%s$" % (NAME, WITHIN))),
    ("disconnects", re.compile(r"^%s disconnects%s$" % (NAME, WITHIN))),
    ("drops", re.compile(r"^%s drops connection$" % NAME)),
    ("server_stops", re.compile(r"^server stops$")),
    ("server_exits", re.compile(r"^server exits%s$" % WITHIN)),
    ("server_restarts", re.compile(r"^server restarts%s$" % WITHIN)),
    ("wait", re.compile(r"^wait %s$" % DUR)),
    ("check", re.compile(r"^check (?P<a>\S+) (?P<op>==|!=) (?P<b>\S.*)$")),
]
BLOCK_KINDS = {"send", "send_raw", "recv", "recv_any", "recv_header", "features"}
CLIENT_KEYS = ("jid", "password", "resource", "ignore", "tls", "mechanism", "channel-binding",
               "tls-version", "sni", "source")
CLIENT_CHOICES = {  # value regex, what it means (for the error message)
    "tls": (r"none|starttls|direct", "none, starttls or direct"),
    "mechanism": (MECH_RX, "PLAIN or SCRAM-SHA-1/256/512, optionally -PLUS"),
    "channel-binding": (r"tls-exporter|tls-server-end-point|tls-unique",
                        "tls-exporter, tls-server-end-point or tls-unique"),
    "tls-version": (r"1\.2|1\.3", "1.2 or 1.3"),
    "source": (r"[0-9.]+|[0-9a-fA-F:]+", "an IP address"),
    "sni": (r"\S+", "a host name or none"),
}
HEADER_KEYS = {"config", "timeout", "attach", "domain", "title"}


def parse_duration(s):
    s = s.strip()
    if s.endswith("ms"):
        return float(s[:-2]) / 1000.0
    return float(s.rstrip("s").strip())


class Statement:
    def __init__(self, kind, line, m, block, raw_text):
        self.kind = kind
        self.line = line
        self.m = m
        self.block = block  # str or None
        self.block_line = line + 1
        self.text = raw_text
        self.patterns = None


class Scenario:
    def __init__(self, path, rel):
        self.path = path
        self.rel = rel
        self.title = ""
        self.config = "default.toml"
        self.timeout = DEFAULT_TIMEOUT
        self.attach = ""
        self.domain = "localhost"
        self.clients = {}   # name -> dict(jid, password, resource)
        self.statements = []

    @property
    def stops_server(self):
        return any(s.kind in ("server_stops", "server_exits", "server_restarts") for s in self.statements)


def unescape_raw(text):
    """Raw blocks: \\n \\r \\t \\\\ \\xNN are interpreted; the rest is UTF-8."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "n":
                out += b"\n"; i += 2; continue
            if n == "r":
                out += b"\r"; i += 2; continue
            if n == "t":
                out += b"\t"; i += 2; continue
            if n == "\\":
                out += b"\\"; i += 2; continue
            if n == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16)); i += 4; continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def parse_scenario(path, rel):
    sc = Scenario(path, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    current_client = None
    seen_statement = False
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        stripped = raw.strip()
        i += 1
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not sc.title and not seen_statement and not sc.clients:
                sc.title = stripped.lstrip("#").strip()
            continue
        if raw[0] in " \t":
            if current_client is not None:
                k, sep, v = stripped.partition(":")
                k = k.strip().lower()
                v = v.strip()
                if not sep or k not in CLIENT_KEYS:
                    raise ScenarioError(path, lineno, "client property must be one of %s" % ", ".join(
                        k + ":" for k in CLIENT_KEYS))
                if k == "ignore" and not set(v.split()) <= {"presence", "message", "iq"}:
                    raise ScenarioError(path, lineno, "ignore: takes stanza kinds (presence, message, iq)")
                if k in CLIENT_CHOICES and not re.fullmatch(CLIENT_CHOICES[k][0], v):
                    raise ScenarioError(path, lineno, "%s: %r is not %s" % (k, v, CLIENT_CHOICES[k][1]))
                sc.clients[current_client][k] = v
                continue
            raise ScenarioError(path, lineno, "unexpected indented line")
        current_client = None
        if re.fullmatch(r"-{3,}", stripped):
            continue
        m = re.match(r"^\[client\]\s+([A-Za-z][\w-]*)$", stripped, re.I)
        if m:
            name = m.group(1)
            if name in sc.clients or name == "server":
                raise ScenarioError(path, lineno, "client %r declared twice (or reserved)" % name)
            sc.clients[name] = {"line": lineno}
            current_client = name
            continue
        k, sep, v = stripped.partition(":")
        if sep and k.strip().lower() in HEADER_KEYS and not seen_statement and " " not in k.strip():
            key = k.strip().lower()
            v = v.strip()
            if key == "config":
                sc.config = v
            elif key == "timeout":
                sc.timeout = parse_duration(v)
            elif key == "attach":
                sc.attach = v
            elif key == "domain":
                sc.domain = v
            elif key == "title":
                sc.title = v
            continue
        for kind, rx in STATEMENTS:
            m = rx.match(stripped)
            if m:
                break
        else:
            raise ScenarioError(path, lineno, "unknown statement: %r" % stripped)
        if "c" in rx.groupindex and m.group("c") not in sc.clients:
            raise ScenarioError(path, lineno, "unknown client %r (declare it with [client] %s)" % (
                m.group("c"), m.group("c")))
        seen_statement = True
        block = None
        if kind in BLOCK_KINDS:
            inline = m.group("inline") if "inline" in rx.groupindex else ""
            blines = []
            while i < len(lines) and (not lines[i].strip() or lines[i][0] in " \t"):
                blines.append(lines[i])
                i += 1
            while blines and not blines[-1].strip():
                blines.pop()
            if inline and blines:
                raise ScenarioError(path, lineno, "both an inline value and an indented block")
            if inline:
                block = inline
            elif blines:
                block = textwrap.dedent("\n".join(blines))
            else:
                raise ScenarioError(path, lineno, "statement needs an indented block (or inline text)")
            st = Statement(kind, lineno, m, block, stripped)
            st.block_line = lineno if inline else lineno + 1
            if kind in ("recv", "recv_any", "recv_header", "features"):
                xml_text = "\n".join(l for l in block.split("\n") if not l.strip().startswith("#"))
                st.patterns = parse_pattern(xml_text, path, st.block_line)
                if not st.patterns:
                    raise ScenarioError(path, lineno, "empty pattern")
            elif kind == "send":
                xml_text = "\n".join(l for l in block.split("\n") if not l.strip().startswith("#"))
                st.block = xml_text
                parse_pattern(PH.sub("x", xml_text), path, st.block_line, "sends")
            sc.statements.append(st)
        else:
            sc.statements.append(Statement(kind, lineno, m, None, stripped))
    for name, c in sc.clients.items():
        if "jid" not in c:
            raise ScenarioError(path, c["line"], "client %s has no jid:" % name)
    if not sc.statements:
        raise ScenarioError(path, 1, "no statements")
    return sc
