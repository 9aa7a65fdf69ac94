"""Constants, errors, a small element tree (Clark names) and the
structural matching of received stanzas against scenario patterns, with
{{name}} placeholders.

Part of the scenario runner (runner.py); standard library only.
"""

import os
import re
import xml.parsers.expat


NS_STREAM = "http://etherx.jabber.org/streams"
NS_STREAM_ERR = "urn:ietf:params:xml:ns:xmpp-streams"
NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"  # XEP-0114 streams
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL_CB = "urn:xmpp:sasl-cb:0"
NS_SCN = "urn:scenario"
NS_XML = "http://www.w3.org/XML/1998/namespace"

DEFAULT_TIMEOUT = 5.0          # seconds, any bounded wait
DEFAULT_NOTHING = 0.5          # seconds, "receives nothing"
SERVER_START_TIMEOUT = 10.0    # seconds until the port must accept
SERVER_STOP_TIMEOUT = 5.0      # seconds after SIGTERM before SIGKILL
CHUNK = 65536                  # bytes per write of a generated payload
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))  # tests/scenarios/ -> the repo


class ScenarioError(Exception):
    """A syntax error in a scenario file."""

    def __init__(self, path, line, msg):
        super().__init__("%s:%d: %s" % (path, line, msg))


class Failure(Exception):
    """A failed expectation; `expected`/`received` are shown side by side."""

    def __init__(self, msg, expected=None, received=None, client=None):
        super().__init__(msg)
        self.msg = msg
        self.expected = expected
        self.received = received
        self.client = client


class Skip(Exception):
    pass


# --------------------------------------------------------------------------
# A small element tree (Clark names: "{ns}local")

class El:
    __slots__ = ("tag", "attrs", "children", "text", "nsdecls", "line")

    def __init__(self, tag, attrs=None, nsdecls=None, line=0):
        self.tag = tag
        self.attrs = attrs or {}
        self.children = []
        self.text = ""
        self.nsdecls = nsdecls or {}
        self.line = line

    def find(self, tag):
        for c in self.children:
            if c.tag == tag:
                return c
        return None


def split_ns(name):
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _clark(name):
    # expat with namespace_separator=' ' gives "uri local" or "local"
    if " " in name:
        uri, local = name.split(" ", 1)
        return "{%s}%s" % (uri, local)
    return name


def _esc(s, quote=False):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        s = s.replace("'", "&apos;").replace('"', "&quot;")
    return s


KNOWN_PREFIXES = {NS_STREAM: "stream", NS_XML: "xml", NS_SCN: "scn"}


def to_xml(el, parent_ns=NS_CLIENT, indent=0, pretty=True, maxtext=300, header=False):
    """Serialize for display. Namespaces are written where they change."""
    ns, local = split_ns(el.tag)
    attrs = []
    decl = ""
    if ns in KNOWN_PREFIXES and ns != NS_XML:
        name = "%s:%s" % (KNOWN_PREFIXES[ns], local)
        child_ns = parent_ns
    else:
        name = local
        child_ns = ns
        if ns != parent_ns:
            decl = " xmlns='%s'" % _esc(ns, True)
    if el.nsdecls:
        if "" in el.nsdecls or header:
            decl = ""
        for p, u in sorted(el.nsdecls.items()):
            if p in ("stream", "scn") and not header:
                continue
            decl += " xmlns%s='%s'" % ((":" + p) if p else "", _esc(u or "", True))
    for k, v in el.attrs.items():
        kns, kl = split_ns(k)
        if kns:
            kn = "%s:%s" % (KNOWN_PREFIXES.get(kns, "ns"), kl)
        else:
            kn = kl
        attrs.append(" %s='%s'" % (kn, _esc(v, True)))
    pad = "  " * indent if pretty else ""
    text = el.text.strip() if pretty else el.text
    if len(text) > maxtext:
        text = text[:maxtext] + "...[%d chars]" % len(text)
    head = "%s<%s%s%s" % (pad, name, decl, "".join(attrs))
    if header:
        return head + ">"
    if not el.children and not text:
        return head + "/>"
    if not el.children:
        return "%s>%s</%s>" % (head, _esc(text), name)
    parts = [head + ">"]
    if text:
        parts.append(("  " * (indent + 1) if pretty else "") + _esc(text))
    for c in el.children:
        parts.append(to_xml(c, child_ns, indent + 1, pretty, maxtext))
    parts.append("%s</%s>" % (pad, name))
    return ("\n" if pretty else "").join(parts)


def resolved(el, vars_):
    """A copy of a pattern with the placeholders that have values filled in
    (for display)."""
    def fill(v):
        return PH.sub(lambda m: vars_.get(m.group(1), m.group(0)), v)
    c = El(el.tag, {k: fill(v) for k, v in el.attrs.items()}, dict(el.nsdecls), el.line)
    c.text = fill(el.text)
    c.children = [resolved(x, vars_) for x in el.children]
    return c


def parse_pattern(text, path, line, what="pattern"):
    """Parses scenario XML (one or more elements) with the default namespace
    jabber:client and the prefixes stream: and scn: predeclared."""
    wrapper = ("<scn:w xmlns='%s' xmlns:stream='%s' xmlns:scn='%s'>" % (NS_CLIENT, NS_STREAM, NS_SCN)
               + text + "</scn:w>")
    p = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack = []
    roots = []
    pending = {}

    def nsdecl(prefix, uri):
        pending[prefix or ""] = uri or ""

    def start(name, attrs):
        el = El(_clark(name), {_clark(k): v for k, v in attrs.items()}, dict(pending),
                line=line + p.CurrentLineNumber - 1)
        pending.clear()
        if stack:
            stack[-1].children.append(el)
        stack.append(el)

    def end(name):
        el = stack.pop()
        if len(stack) == 1:
            roots.append(el)

    def chars(data):
        if len(stack) > 1:
            stack[-1].text += data

    p.StartNamespaceDeclHandler = nsdecl
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.buffer_text = True
    try:
        p.Parse(wrapper.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as e:
        raise ScenarioError(path, line + max(e.lineno - 1, 0), "invalid XML in %s: %s" % (what, e))
    for r in roots:
        r.nsdecls = {k: v for k, v in r.nsdecls.items()}
    return roots


# --------------------------------------------------------------------------
# Placeholders: {{name}} captures on first use, must match afterwards.

PH = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def value_regex(expected, vars_):
    """Regex for an expected string with placeholders; returns (regex, names)
    where names[i] is the variable captured by group i+1 (None: no capture)."""
    out = []
    names = []
    groups = {}
    pos = 0
    for m in PH.finditer(expected):
        out.append(re.escape(expected[pos:m.start()]))
        name = m.group(1)
        if name == "*":
            out.append("(?:.*?)")
        elif name in vars_:
            out.append(re.escape(vars_[name]))
        elif name in groups:
            out.append("(?P=%s)" % groups[name])
        else:
            g = "g%d" % len(groups)
            groups[name] = g
            names.append(name)
            out.append("(?P<%s>.+?)" % g)
        pos = m.end()
    out.append(re.escape(expected[pos:]))
    return "".join(out), groups


def match_value(expected, actual, vars_, captured):
    scope = dict(vars_)
    scope.update(captured)
    rx, groups = value_regex(expected, scope)
    m = re.fullmatch(rx, actual, re.S)
    if not m:
        return False
    for name, g in groups.items():
        captured[name] = m.group(g)
    return True


def substitute(text, vars_, path, line, escape=True):
    def rep(m):
        name = m.group(1)
        if name not in vars_:
            raise Failure("%s:%d: placeholder {{%s}} has no value yet" % (path, line, name))
        return _esc(vars_[name], True) if escape else vars_[name]
    return PH.sub(rep, text)


def match_el(exp, act, vars_, captured, check_decls=False):
    """Structural match. Returns None on success (captures added to
    `captured`), else a string saying what differs. `check_decls`: the
    namespace declarations written on the pattern's element must be present
    on the received one (used for the stream header)."""
    if exp.tag != act.tag:
        return "element %s expected, got %s" % (exp.tag, act.tag)
    for k, v in exp.attrs.items():
        if split_ns(k)[0] == NS_SCN:
            continue
        if k not in act.attrs:
            return "<%s/>: attribute %s=%r missing" % (split_ns(exp.tag)[1], k, v)
        if not match_value(v, act.attrs[k], vars_, captured):
            return "<%s/>: attribute %s=%r expected, got %r" % (split_ns(exp.tag)[1], k, v, act.attrs[k])
    no_attr = exp.attrs.get("{%s}no-attr" % NS_SCN)
    if no_attr:
        for k in no_attr.split():
            if k in act.attrs:
                return "<%s/>: attribute %s must be absent, got %r" % (split_ns(exp.tag)[1], k, act.attrs[k])
    if exp.attrs.get("{%s}empty" % NS_SCN) == "true":
        if act.children or act.text.strip():
            return "<%s/> must be empty" % split_ns(exp.tag)[1]
    for p, u in (exp.nsdecls.items() if check_decls else ()):
        if act.nsdecls.get(p) != u:
            return "<%s/>: namespace declaration xmlns%s=%r expected, got %r" % (
                split_ns(exp.tag)[1], (":" + p) if p else "", u, act.nsdecls.get(p))
    et = exp.text.strip()
    if et and not match_value(et, act.text.strip(), vars_, captured):
        return "<%s/>: text %r expected, got %r" % (split_ns(exp.tag)[1], et, act.text.strip())
    present = [c for c in exp.children if c.attrs.get("{%s}absent" % NS_SCN) != "true"]
    absent = [c for c in exp.children if c.attrs.get("{%s}absent" % NS_SCN) == "true"]
    for a in absent:
        for c in act.children:
            if match_el(a, c, vars_, dict(captured)) is None:
                return "<%s/>: child <%s/> must be absent" % (split_ns(exp.tag)[1], split_ns(a.tag)[1])
    why = _match_children(present, act.children, 0, set(), vars_, captured)
    return why


def _match_children(exps, acts, i, used, vars_, captured):
    if i == len(exps):
        return None
    e = exps[i]
    first_why = None
    for j, a in enumerate(acts):
        if j in used or a.tag != e.tag:
            continue
        trial = dict(captured)
        why = match_el(e, a, vars_, trial)
        if why is None:
            rest = _match_children(exps, acts, i + 1, used | {j}, vars_, trial)
            if rest is None:
                captured.clear()
                captured.update(trial)
                return None
            why = rest
        first_why = first_why or why
    if first_why:
        return first_why
    return "child <%s xmlns='%s'/> missing" % (split_ns(e.tag)[1], split_ns(e.tag)[0])
