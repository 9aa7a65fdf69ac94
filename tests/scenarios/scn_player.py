"""Playing one scenario: the Player runs its statements against the
server, run_scenario() starts and stops the server around it and
report_failure() prints expected and received side by side.

Part of the scenario runner (runner.py); standard library only.
"""

import base64
import hashlib
import hmac
import os
import re
import select
import ssl
import textwrap
import time

from scn_xml import (CHUNK, DEFAULT_NOTHING, El, Failure, NS_BIND, NS_CLIENT, NS_SASL,
                     NS_SASL_CB, NS_STREAM, NS_STREAM_ERR, NS_TLS, REPO,
                     SERVER_STOP_TIMEOUT, Skip, _esc, match_el, parse_pattern,
                     resolved, split_ns, substitute, to_xml)
from scn_client import (Conn, b64, channel_binding, component_header, describe_event,
                        scram_saslname, stream_header)
from scn_script import AUTH_OPT, MECH_RX, parse_duration, unescape_raw
from scn_server import Server, find_config


# --------------------------------------------------------------------------
# Playing a scenario

def side_by_side(left, right, lt="expected", rt="received"):
    l_lines = left.split("\n") if left else ["(nothing)"]
    r_lines = right.split("\n") if right else ["(nothing)"]
    width = min(max([len(x) for x in l_lines] + [len(lt)]) + 2, 96)
    out = ["  %-*s | %s" % (width, lt, rt), "  %s-+-%s" % ("-" * width, "-" * 40)]
    for i in range(max(len(l_lines), len(r_lines))):
        a = l_lines[i] if i < len(l_lines) else ""
        b = r_lines[i] if i < len(r_lines) else ""
        if len(a) > width:
            # too long to align: print the rest on its own line
            out.append("  %-*s | %s" % (width, a[:width], b))
            rest = a[width:]
            while rest:
                out.append("  %-*s |" % (width, rest[:width]))
                rest = rest[width:]
        else:
            out.append("  %-*s | %s" % (width, a, b))
    return "\n".join(out)


class Player:
    def __init__(self, sc, host, port, server, verbose_out=None, tls_port=None, component_port=None):
        self.sc = sc
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self.component_port = component_port
        self.server = server
        self.verbose_out = verbose_out
        self.vars = {"domain": sc.domain}
        if server is not None and server.certs:
            for cname, cert in server.certs.items():
                self.vars["%s.sha256" % cname.lower()] = cert["sha256"]
        self.conns = {}
        for name, c in sc.clients.items():
            jid = c["jid"]
            user, _, dom = jid.partition("@")
            if not dom:
                user, dom = "", user
            dom = dom.split("/")[0]
            c["user"], c["domain"] = user, dom
            self.vars["%s.jid" % name] = "%s@%s" % (user, dom) if user else dom
            self.vars["%s.user" % name] = user
            self.vars["%s.domain" % name] = dom
            self.vars["%s.password" % name] = c.get("password", "")
            if c.get("resource"):
                self.vars["%s.resource" % name] = c["resource"]

    def conn(self, name, must_exist=True):
        c = self.conns.get(name)
        if c is None and must_exist:
            raise Failure("%s is not connected (use '%s connects' or '%s connects raw')" % (name, name, name))
        return c

    def deadline(self, st, default=None):
        t = st.m.groupdict().get("t")
        return time.monotonic() + (parse_duration(t) if t else (default if default is not None else self.sc.timeout))

    # stream steps ------------------------------------------------------------
    def do_connect_raw(self, name, deadline, port=None):
        old = self.conns.get(name)
        if old:
            old.close()
        cl = self.sc.clients[name]
        c = Conn(name, self.verbose_out, cl.get("ignore", "").split())
        self.conns[name] = c
        c.connect(self.host, self.port if port is None else port, deadline, cl.get("source"))
        return c

    def do_connect_component(self, name, deadline, handshake=True, refused=False):
        """XEP-0114 §3: TCP to the @COMPONENT_PORT@ listener; with
        `handshake`, the stream header to X's domain, the server's header
        (its id in {{X.stream_id}}), <handshake/> with SHA-1(id + X's
        password) and the empty <handshake/> back (`refused`: the caller
        expects a stream error instead)."""
        if self.component_port is None:
            if self.server is None:
                raise Skip("needs the component port of its own server")
            raise Failure("%s: the config has no component listener (port = @COMPONENT_PORT@)" % name)
        old = self.conns.get(name)
        if old:
            old.close()
        cl = self.sc.clients[name]
        c = Conn(name, self.verbose_out, cl.get("ignore", "").split(), component=True)
        self.conns[name] = c
        c.connect(self.host, self.component_port, deadline, cl.get("source"))
        if not handshake:
            return c
        c.reset_stream()
        c.send(component_header(cl["domain"]), deadline)
        c.wait_header(1, deadline)
        self.check_header_is_stream(c)
        sid = c.header.attrs.get("id", "")
        if not sid:
            raise Failure("%s: the server's stream header has no id" % name, client=name)
        self.vars["%s.stream_id" % name] = sid
        digest = hashlib.sha1((sid + cl.get("password", "")).encode("utf-8")).hexdigest()
        c.send("<handshake>%s</handshake>" % digest, deadline)
        if refused:
            return c
        self.expect_stanza(c, El("{%s}handshake" % NS_CLIENT), deadline, "no <handshake/> after the handshake")
        return c

    def tls_setup(self, name, c, deadline):
        cl = self.sc.clients[name]
        sni = cl.get("sni", cl["domain"])
        c.start_tls(None if sni == "none" else sni, deadline, cl.get("tls-version"))
        self.vars["%s.tls_version" % name] = c.tls["version"]
        self.vars["%s.tls_cert_sha256" % name] = c.tls["cert_sha256"]

    def do_connect_tls(self, name, deadline, open_stream=True):
        """Direct TLS (XEP-0368): TCP to the @TLS_PORT@ listener, handshake,
        then (open_stream) the stream header and features."""
        if self.tls_port is None:
            if self.server is None:
                raise Skip("needs the direct TLS port of its own server")
            raise Failure("%s: the config has no direct TLS listener (port = @TLS_PORT@)" % name)
        c = self.do_connect_raw(name, deadline, self.tls_port)
        self.tls_setup(name, c, deadline)
        if open_stream:
            self.do_open(name, deadline)
        return c

    def do_starttls(self, name, deadline):
        """RFC 6120 §5.4: <starttls/>, <proceed/>, TLS handshake on the same
        socket, stream restart (header and features)."""
        c = self.conn(name)
        if c.tls:
            raise Failure("%s: TLS is already on (use 'sends:' to test a second <starttls/>)" % name)
        c.send("<starttls xmlns='%s'/>" % NS_TLS, deadline)
        self.expect_stanza(c, El("{%s}proceed" % NS_TLS), deadline, "STARTTLS: no <proceed/>")
        if c.events:
            raise Failure("%s: data after <proceed/> before the TLS handshake" % name,
                          "(TLS handshake)", describe_event(c.events[0]), client=name)
        self.tls_setup(name, c, deadline)
        self.do_open(name, deadline)
        return c

    def do_open(self, name, deadline):
        c = self.conn(name)
        c.reset_stream()
        want = c.headers_seen + 1
        c.send(stream_header(self.sc.clients[name]["domain"]), deadline)
        c.wait_header(want, deadline)
        self.check_header_is_stream(c)
        ev = c.next_event(deadline)
        if ev is None or ev[0] != "stanza" or ev[1].tag != "{%s}features" % NS_STREAM:
            raise Failure("%s: expected <stream:features/> after the stream header" % name,
                          "<stream:features/>", describe_event(ev), client=name)
        c.features = ev[1]
        # in offer order, comma-separated (for `check`): SASL mechanisms and
        # XEP-0440 channel-binding types
        mechs = c.features.find("{%s}mechanisms" % NS_SASL)
        self.vars["%s.mechanisms" % name] = ",".join(
            m.text.strip() for m in (mechs.children if mechs is not None else ())
            if m.tag == "{%s}mechanism" % NS_SASL) or "none"
        cbs = c.features.find("{%s}sasl-channel-binding" % NS_SASL_CB)
        self.vars["%s.channel_bindings" % name] = ",".join(
            x.attrs.get("type", "?") for x in (cbs.children if cbs is not None else ())) or "none"
        return c

    def check_header_is_stream(self, c):
        if c.header is not None and c.header.tag != "{%s}stream" % NS_STREAM:
            raise Failure("%s: the server's first element is not <stream:stream/>" % c.name,
                          "<stream:stream xmlns:stream='%s'>" % NS_STREAM, to_xml(c.header, header=True),
                          client=c.name)

    def expect_stanza(self, c, pattern, deadline, what):
        ev = c.next_event(deadline)
        shown = to_xml(resolved(pattern, self.vars))
        if ev is None or ev[0] != "stanza":
            raise Failure("%s: %s" % (c.name, what if ev is None else what + " (got %s instead)" % (
                "the end of the stream" if ev[0] in ("close", "eof") else "unparsable data")),
                shown, describe_event(ev), client=c.name)
        captured = {}
        why = match_el(pattern, ev[1], self.vars, captured)
        if why:
            raise Failure("%s: received stanza does not match: %s" % (c.name, why),
                          shown, to_xml(ev[1]), client=c.name)
        self.vars.update(captured)
        return ev[1]

    def do_auth(self, name, deadline):
        """SASL with the client's `mechanism:` (default PLAIN), success
        expected, then the stream restart."""
        self.do_sasl(name, deadline, self.sc.clients[name].get("mechanism", "PLAIN"))

    def do_sasl(self, name, deadline, mech, password=None, user=None, authzid=None, corrupt_proof=False,
                wrong_cb=False, cb_type=None, flag=None, expect=None, when=None):
        """One SASL exchange (RFC 6120 §6.4). PLAIN (RFC 4616) or SCRAM
        (RFC 5802 / 7677; -PLUS with channel binding). `expect`: the failure
        conditions accepted (None: success expected: the server signature
        is verified and the stream restarted); `when`: 'after challenge' /
        'without challenge' (where the failure must come). The manipulations
        (corrupt_proof, wrong_cb, cb_type, flag) provoke failures."""
        c = self.conn(name)
        cl = self.sc.clients[name]
        user = cl["user"] if user is None else user
        password = cl.get("password") if password is None else password
        if password is None:
            raise Failure("client %s has no password:" % name)
        self.vars["%s.mechanism" % name] = mech
        label = "SASL %s" % mech

        def sasl_el(local):
            return El("{%s}%s" % (NS_SASL, local))

        def next_sasl(step):
            ev = c.next_event(deadline)
            if ev is None or ev[0] != "stanza" or split_ns(ev[1].tag)[0] != NS_SASL:
                raise Failure("%s: %s: no SASL answer to %s" % (name, label, step),
                              "<success/>, <challenge/> or <failure/> (%s)" % NS_SASL, describe_event(ev),
                              client=name)
            return ev[1]

        def failed(el, challenged):
            got = [split_ns(x.tag)[1] for x in el.children if split_ns(x.tag)[1] != "text"]
            cond = got[0] if got else "(no condition)"
            self.vars["%s.sasl_failure" % name] = cond
            text = el.find("{%s}text" % NS_SASL)
            self.vars["%s.sasl_text" % name] = (text.text or "").strip() if text is not None else "none"
            exp_text = "<failure xmlns='%s'><%s/></failure>" % (NS_SASL, " | ".join(expect or ["(success)"]))
            if expect is None:
                raise Failure("%s: %s failed" % (name, label), "<success xmlns='%s'/>" % NS_SASL,
                              to_xml(el), client=name)
            if cond not in expect:
                raise Failure("%s: %s: wrong failure condition" % (name, label), exp_text, to_xml(el),
                              client=name)
            if when == "after challenge" and not challenged:
                raise Failure("%s: %s: failure without a challenge first (expected at the proof)" % (
                    name, label), exp_text, to_xml(el), client=name)
            if when == "without challenge" and challenged:
                raise Failure("%s: %s: failure only after a challenge (expected right after <auth/>)" % (
                    name, label), exp_text, to_xml(el), client=name)

        def unexpected(el, step):
            exp_text = ("<failure xmlns='%s'><%s/></failure>" % (NS_SASL, " | ".join(expect)) if expect
                        else "<success xmlns='%s'/>" % NS_SASL)
            raise Failure("%s: %s: unexpected answer to %s" % (name, label, step), exp_text, to_xml(el),
                          client=name)

        def succeeded():
            self.vars.pop("%s.sasl_failure" % name, None)
            self.do_open(name, deadline)

        if mech == "PLAIN" or not re.fullmatch(MECH_RX, mech):
            data = "" if mech != "PLAIN" else b64("%s\0%s\0%s" % (authzid or "", user, password))
            c.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, _esc(mech, True), data), deadline)
            el = next_sasl("<auth/>")
            if el.tag == "{%s}failure" % NS_SASL:
                return failed(el, False)
            if el.tag != "{%s}success" % NS_SASL or expect:
                unexpected(el, "<auth/>")
            return succeeded()

        # --- SCRAM
        plus = mech.endswith("-PLUS")
        hname = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}[
            mech[len("SCRAM-"):-len("-PLUS") if plus else None]]
        cbdata = b""
        if plus:
            cb_type = cb_type or cl.get("channel-binding")
            if cb_type is None:
                cb_type = "tls-exporter" if channel_binding(c, "tls-exporter") is not None else "tls-server-end-point"
            data = channel_binding(c, cb_type)
            if data is None:
                if c.tls and cb_type == "tls-exporter" and c.tls["version"] == "TLSv1.3":
                    raise Skip("this Python cannot compute the tls-exporter channel binding")
                # no TLS, or a type not defined here: random bytes (the server must refuse them)
                data = os.urandom(32)
            cbdata = data
            gs2_flag = flag or "p=" + cb_type
        else:
            gs2_flag = flag or "n"
        self.vars["%s.cb_type" % name] = cb_type if plus else "none"
        gs2 = "%s,%s," % (gs2_flag, ("a=" + scram_saslname(authzid)) if authzid else "")
        cnonce = b64(os.urandom(18))
        bare = "n=%s,r=%s" % (scram_saslname(user), cnonce)
        c.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, mech, b64(gs2 + bare)), deadline,
               logtext="<auth xmlns='%s' mechanism='%s'>%s</auth>   [%s]" % (NS_SASL, mech, b64(gs2 + bare),
                                                                            gs2 + bare))
        el = next_sasl("<auth/>")
        if el.tag == "{%s}failure" % NS_SASL:
            return failed(el, False)
        if el.tag != "{%s}challenge" % NS_SASL:
            unexpected(el, "<auth/> (a SCRAM server-first-message was expected)")
        try:
            server_first = base64.b64decode(el.text.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise Failure("%s: %s: the challenge is not base64 of UTF-8" % (name, label), "<challenge>BASE64</challenge>",
                          to_xml(el), client=name)
        c.log("--", "server-first-message: %s" % server_first)
        attrs = {}
        for field in server_first.split(","):
            if len(field) >= 2 and field[1] == "=":
                attrs.setdefault(field[0], field[2:])
        try:
            salt = base64.b64decode(attrs.get("s", ""), validate=True)
            iterations = int(attrs.get("i", ""))
        except ValueError:
            salt, iterations = b"", 0
        nonce = attrs.get("r", "")
        if not nonce.startswith(cnonce) or len(nonce) <= len(cnonce) or not salt or iterations <= 0 \
                or server_first.startswith("m="):
            raise Failure("%s: %s: malformed server-first-message (RFC 5802 §7: r=client nonce + server nonce, "
                          "s=base64 salt, i=iterations)" % (name, label), "r=%s...,s=...,i=..." % cnonce,
                          server_first, client=name)
        self.vars["%s.scram_salt" % name] = attrs["s"]
        self.vars["%s.scram_iterations" % name] = str(iterations)
        cbind = gs2.encode("utf-8") + cbdata
        if wrong_cb:
            if plus:
                cbind = gs2.encode("utf-8") + bytes([cbdata[0] ^ 0x01]) + cbdata[1:]
            else:
                other = "y" if gs2_flag == "n" else "n"
                cbind = ("%s,%s" % (other, gs2.split(",", 1)[1])).encode("utf-8")
        without_proof = "c=%s,r=%s" % (b64(cbind), nonce)
        salted = hashlib.pbkdf2_hmac(hname, password.encode("utf-8"), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hname).digest()
        stored_key = hashlib.new(hname, client_key).digest()
        auth_message = ("%s,%s,%s" % (bare, server_first, without_proof)).encode("utf-8")
        client_sig = hmac.new(stored_key, auth_message, hname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
        if corrupt_proof:
            proof = bytes([proof[0] ^ 0x80]) + proof[1:]
        server_key = hmac.new(salted, b"Server Key", hname).digest()
        server_sig = hmac.new(server_key, auth_message, hname).digest()
        final = "%s,p=%s" % (without_proof, b64(proof))
        c.send("<response xmlns='%s'>%s</response>" % (NS_SASL, b64(final)), deadline,
               logtext="<response xmlns='%s'>%s</response>   [%s]" % (NS_SASL, b64(final), final))
        el = next_sasl("the client-final-message")
        if el.tag == "{%s}failure" % NS_SASL:
            return failed(el, True)
        if expect:
            unexpected(el, "the client-final-message")
        additional = el.text.strip()
        if el.tag == "{%s}challenge" % NS_SASL:
            # RFC 6120 §6.3.10: server-final-message in a challenge, then an
            # empty response and an empty <success/>
            c.send("<response xmlns='%s'/>" % NS_SASL, deadline)
            el2 = next_sasl("the empty response")
            if el2.tag != "{%s}success" % NS_SASL:
                unexpected(el2, "the empty response")
        elif el.tag != "{%s}success" % NS_SASL:
            unexpected(el, "the client-final-message")
        try:
            server_final = base64.b64decode(additional, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            server_final = None
        if not additional or server_final is None:
            raise Failure("%s: %s: no server-final-message (base64 'v=...') with the success (RFC 5802 §5.1; "
                          "RFC 6120 §6.3.10)" % (name, label), "<success>base64(v=...)</success>", to_xml(el),
                          client=name)
        c.log("--", "server-final-message: %s" % server_final)
        if server_final.startswith("e="):
            raise Failure("%s: %s: success carries a server error %r" % (name, label, server_final), client=name)
        expect_v = "v=" + b64(server_sig)
        if not server_final.startswith("v=") or not hmac.compare_digest(
                server_final.split(",")[0].encode("utf-8"), expect_v.encode("ascii")):
            raise Failure("%s: %s: wrong server signature: the server does not know the password (RFC 5802 §5.1)"
                          % (name, label), expect_v, server_final, client=name)
        return succeeded()

    def do_bind(self, name, deadline):
        c = self.conn(name)
        res = self.sc.clients[name].get("resource")
        inner = "<resource>%s</resource>" % _esc(res) if res else ""
        c.send("<iq type='set' id='scn-bind'><bind xmlns='%s'>%s</bind></iq>" % (NS_BIND, inner), deadline)
        pat = parse_pattern("<iq type='result' id='scn-bind'><bind xmlns='%s'><jid>{{*}}</jid></bind></iq>"
                            % NS_BIND, "<builtin>", 1)[0]
        el = self.expect_stanza(c, pat, deadline, "no answer to the resource bind request")
        full = el.find("{%s}bind" % NS_BIND).find("{%s}jid" % NS_BIND).text.strip()
        if "/" not in full or not full.split("/", 1)[1]:
            raise Failure("%s: bound JID %r has no resourcepart (RFC 6120 §7.6)" % (name, full),
                          to_xml(pat), to_xml(el), client=name)
        self.vars["%s.full" % name] = full
        self.vars["%s.resource" % name] = full.split("/", 1)[1] if "/" in full else ""

    def wait_closed(self, c, deadline, need_close_tag=True):
        while not c.eof:
            if time.monotonic() >= deadline:
                break
            c.pump(deadline)
        stanzas = [e for e in c.events if e[0] == "stanza"]
        c.events.clear()
        return stanzas

    # statements ---------------------------------------------------------------
    def run_statement(self, st):
        k = st.kind
        name = st.m.groupdict().get("c")
        if k == "connect_raw":
            self.do_connect_raw(name, self.deadline(st))
        elif k == "connect_component":
            refused = bool(st.m.group("conds"))
            self.do_connect_component(name, self.deadline(st), refused=refused)
            if refused:
                self.do_recv_error(st, name)
        elif k == "connect_component_raw":
            self.do_connect_component(name, self.deadline(st), handshake=False)
        elif k == "connect":
            dl = self.deadline(st)
            mode = self.sc.clients[name].get("tls", "none")
            if mode == "direct":
                self.do_connect_tls(name, dl)
            else:
                self.do_connect_raw(name, dl)
                self.do_open(name, dl)
                if mode == "starttls":
                    self.do_starttls(name, dl)
            self.do_auth(name, dl)
            self.do_bind(name, dl)
        elif k == "connect_tls":
            self.do_connect_tls(name, self.deadline(st))
        elif k == "connect_tls_raw":
            self.do_connect_tls(name, self.deadline(st), open_stream=False)
        elif k == "starttls":
            self.do_starttls(name, self.deadline(st))
        elif k == "open":
            self.do_open(name, self.deadline(st))
        elif k == "auth":
            self.do_auth(name, self.deadline(st))
        elif k == "auth_with":
            self.run_auth_with(st, name)
        elif k == "bind":
            self.do_bind(name, self.deadline(st))
        elif k == "send":
            c = self.conn(name)
            text = substitute(st.block, self.vars, self.sc.rel, st.line)
            c.send(text, self.deadline(st))
        elif k == "send_raw":
            c = self.conn(name)
            data = unescape_raw(substitute(st.block, self.vars, self.sc.rel, st.line, escape=False))
            if b"<stream:stream" in data or data.lstrip().startswith(b"<?xml"):
                c.reset_stream()
            c.send(data, self.deadline(st))
        elif k == "send_big":
            self.do_send_big(st, name)
        elif k == "recv":
            c = self.conn(name)
            dl = self.deadline(st)
            for p in st.patterns:
                el = self.expect_stanza(c, p, dl, "expected stanza not received within the time limit")
                if el.tag == "{%s}features" % NS_STREAM:
                    c.features = el
        elif k == "recv_any":
            # the next len(patterns) stanzas must match the patterns, each a different one, in any order
            c = self.conn(name)
            dl = self.deadline(st)
            left = list(st.patterns)
            while left:
                ev = c.next_event(dl)
                shown = "\n".join(to_xml(resolved(p, self.vars)) for p in left)
                if ev is None or ev[0] != "stanza":
                    raise Failure("%s: expected stanzas not received within the time limit" % name
                                  if ev is None else "%s: expected stanzas, got %s" % (
                                      name, "the end of the stream" if ev[0] in ("close", "eof")
                                      else "unparsable data"), shown, describe_event(ev), client=name)
                whys = []
                for i, p in enumerate(left):
                    captured = {}
                    why = match_el(p, ev[1], self.vars, captured)
                    if not why:
                        self.vars.update(captured)
                        del left[i]
                        break
                    whys.append(why)
                else:
                    raise Failure("%s: received stanza matches none of the remaining patterns (%s)"
                                  % (name, "; ".join(whys)), shown, to_xml(ev[1]), client=name)
        elif k == "recv_nothing":
            c = self.conn(name)
            dl = self.deadline(st, DEFAULT_NOTHING)
            ev = c.next_event(dl)
            if ev is not None:
                raise Failure("%s: expected nothing, but received something" % name,
                              "(nothing)", describe_event(ev), client=name)
            if c.eof:
                raise Failure("%s: expected nothing, but the connection is closed" % name, client=name)
        elif k == "recv_header":
            c = self.conn(name)
            dl = self.deadline(st)
            c.wait_header(max(1, c.headers_seen), dl)
            pat = st.patterns[0]
            captured = {}
            why = match_el(pat, c.header, self.vars, captured, check_decls=True)
            if why:
                raise Failure("%s: stream header does not match: %s" % (name, why),
                              to_xml(resolved(pat, self.vars), header=True), to_xml(c.header, header=True), client=name)
            self.vars.update(captured)
        elif k == "features":
            c = self.conn(name)
            if c.features is None:
                raise Failure("%s: no <stream:features/> received yet" % name, client=name)
            captured = {}
            why = match_el(st.patterns[0], c.features, self.vars, captured)
            if why:
                raise Failure("%s: stream features do not match: %s" % (name, why),
                              to_xml(resolved(st.patterns[0], self.vars)), to_xml(c.features), client=name)
            self.vars.update(captured)
        elif k == "recv_error":
            self.do_recv_error(st, name)
        elif k == "disconnected":
            c = self.conn(name)
            stanzas = self.wait_closed(c, self.deadline(st))
            if stanzas:
                raise Failure("%s: stanzas received while waiting for the disconnection" % name,
                              "(connection closed)", "\n".join(to_xml(s[1]) for s in stanzas), client=name)
            if not c.eof:
                raise Failure("%s: the server did not close the connection within the time limit" % name,
                              client=name)
            c.close()
        elif k == "disconnects":
            c = self.conn(name)
            dl = self.deadline(st)
            c.send("</stream:stream>", dl)
            while not c.eof and not c.closed_tag and time.monotonic() < dl:
                c.pump(dl)
            closed_tag = c.closed_tag
            self.wait_closed(c, dl)
            if not closed_tag:
                raise Failure("%s: the server did not answer </stream:stream> with its own closing tag "
                              "(RFC 6120 §4.4)" % name, client=name)
            if not c.eof:
                raise Failure("%s: the server did not close the TCP connection after the streams were closed"
                              % name, client=name)
            c.close()
        elif k == "drops":
            c = self.conn(name)
            c.log("--", "client drops the TCP connection")
            c.close()
        elif k == "server_stops":
            if self.server is None:
                raise Skip("needs its own server")
            self.server.signal_term()
        elif k == "server_restarts":
            if self.server is None:
                raise Skip("needs its own server")
            self.server.restart(self.deadline(st, 15.0))
        elif k == "server_exits":
            if self.server is None:
                raise Skip("needs its own server")
            rc = self.server.wait_exit(max(0.0, self.deadline(st) - time.monotonic()))
            if rc is None:
                raise Failure("the server did not exit within the time limit")
            if rc != 0:
                raise Failure("the server exited with status %s (expected 0)" % rc)
        elif k == "wait":
            time.sleep(parse_duration(st.m.group("t")))
        elif k == "check":
            a = substitute(st.m.group("a"), self.vars, self.sc.rel, st.line, escape=False)
            b = substitute(st.m.group("b"), self.vars, self.sc.rel, st.line, escape=False)
            if (a == b) != (st.m.group("op") == "=="):
                raise Failure("check failed: %r %s %r" % (a, st.m.group("op"), b))
        else:
            raise AssertionError(k)

    def run_auth_with(self, st, name):
        mech = st.m.group("mech")  # other names than MECH_RX: sent without data (<invalid-mechanism/>)
        kw = {}
        for m in re.finditer(AUTH_OPT, st.m.group("opts") or ""):
            o = m.group(0)
            if o.startswith("using password "):
                kw["password"] = substitute(o[len("using password "):], self.vars, self.sc.rel, st.line, False)
            elif o.startswith("as "):
                kw["user"] = substitute(o[3:], self.vars, self.sc.rel, st.line, False)
            elif o.startswith("with authzid "):
                kw["authzid"] = substitute(o[len("with authzid "):], self.vars, self.sc.rel, st.line, False)
            elif o == "with corrupted proof":
                kw["corrupt_proof"] = True
            elif o == "with wrong channel binding":
                kw["wrong_cb"] = True
            elif o.startswith("with channel binding "):
                kw["cb_type"] = o[len("with channel binding "):]
            elif o.startswith("with flag "):
                kw["flag"] = o[len("with flag "):]
        conds = st.m.group("conds")
        self.do_sasl(name, self.deadline(st), mech, expect=conds.split("|") if conds else None,
                     when=st.m.group("when"), **kw)

    def do_recv_error(self, st, name):
        c = self.conn(name)
        dl = self.deadline(st)
        conds = st.m.group("conds").split("|")
        exp = "<stream:error>\n  <%s xmlns='%s'/>\n</stream:error>" % (" | ".join(conds), NS_STREAM_ERR)
        ev = c.next_event(dl)
        if c.header is None and ev is not None:
            raise Failure("%s: stream error without a stream header first (RFC 6120 §4.9.1.2)" % name,
                          exp, describe_event(ev), client=name)
        self.check_header_is_stream(c)
        if ev is None or ev[0] != "stanza" or ev[1].tag != "{%s}error" % NS_STREAM:
            raise Failure("%s: expected a stream error" % name, exp, describe_event(ev), client=name)
        got = [split_ns(x.tag)[1] for x in ev[1].children if split_ns(x.tag)[0] == NS_STREAM_ERR
               and split_ns(x.tag)[1] != "text"]
        if not got or got[0] not in conds:
            raise Failure("%s: wrong stream error condition" % name, exp, to_xml(ev[1]), client=name)
        while not c.eof and not c.closed_tag and time.monotonic() < dl:
            c.pump(dl)
        if not c.closed_tag:
            raise Failure("%s: no </stream:stream> after the stream error" % name,
                          "</stream:stream>", describe_event(c.events[0] if c.events else None), client=name)
        extra = self.wait_closed(c, dl)
        if extra:
            raise Failure("%s: stanzas after the stream error" % name, "(connection closed)",
                          "\n".join(to_xml(s[1]) for s in extra), client=name)
        if not c.eof:
            raise Failure("%s: the server did not close the TCP connection after the stream error" % name,
                          client=name)
        c.close()

    def do_send_big(self, st, name):
        c = self.conn(name)
        n = float(st.m.group("n"))
        unit = st.m.group("unit")
        total = int(n * {"bytes": 1, "B": 1, "KiB": 1024, "KB": 1000, "MiB": 1 << 20, "MB": 10 ** 6}[unit])
        to = st.m.group("to")
        to = substitute(to, self.vars, self.sc.rel, st.line) if to else self.vars["domain"]
        dl = self.deadline(st, max(self.sc.timeout, 60.0))
        head = "<message to='%s' id='huge' type='chat'><body>" % _esc(to, True)
        if not c.send(head, dl):
            return
        block = b"A" * CHUNK
        sent = 0
        logged = False
        while sent < total and time.monotonic() < dl:
            if c.eof or c.closed_tag or any(e[0] == "stanza" and e[1].tag == "{%s}error" % NS_STREAM
                                            for e in c.events):
                break
            part = block if total - sent >= CHUNK else block[:total - sent]
            # write what the socket takes now, reading in between
            r, w, _ = select.select([c.sock], [c.sock], [], max(0.0, dl - time.monotonic()))
            if r:
                c.pump(time.monotonic(), block=False)
                continue
            if not w:
                continue
            try:
                k = c.sock.send(part)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            except OSError as e:
                c.log("--", "send failed after %d bytes: %s" % (sent, e))
                break
            if not logged:
                c.log("C:", "[%d bytes of 'A' follow in chunks]" % total)
                logged = True
            sent += k
        c.log("--", "sent %d of %d filler bytes" % (sent, total))
        if sent >= total and not c.eof:
            c.send("</body></message>", dl)

    def close_all(self):
        for c in self.conns.values():
            c.close()


def run_scenario(sc, args, out):
    """Plays one scenario; returns 'pass', 'fail' or 'skip:REASON'."""
    server = None
    player = None
    t0 = time.monotonic()
    verbose_out = out if args.verbose else None
    current = None
    try:
        if args.attach:
            if sc.config != "default.toml":
                return "skip:needs config %s" % sc.config
            if sc.stops_server:
                return "skip:stops the server"
            if sc.attach.startswith("skip"):
                return "skip:%s" % (sc.attach[4:].strip().strip("()") or "marked attach: skip")
            host, _, port = args.attach.rpartition(":")
            player = Player(sc, host, int(port), None, verbose_out)
        else:
            server = Server(args.server, find_config(sc, [os.path.join(REPO, "scenarios", "configs")]),
                            keep=args.keep)
            server.start()
            player = Player(sc, "127.0.0.1", server.port, server, verbose_out, server.tls_port,
                            server.component_port)
        for st in sc.statements:
            current = st
            if args.verbose:
                out("  %s:%d: %s" % (sc.rel, st.line, st.text))
            player.run_statement(st)
            if server is not None and not server.stop_requested and server.proc.poll() is not None:
                raise Failure("the server exited unexpectedly (status %s)" % server.proc.returncode)
        current = None
        if player:
            player.close_all()
        if server is not None:
            if server.stop_requested:
                if server.wait_exit(SERVER_STOP_TIMEOUT) is None:
                    raise Failure("the server did not exit within %.0fs after SIGTERM" % SERVER_STOP_TIMEOUT)
            problem = server.stop()
            if problem:
                raise Failure(problem)
        return "pass"
    except Skip as e:
        return "skip:%s" % e
    except Failure as f:
        report_failure(sc, current, f, player, server, out)
        return "fail"
    finally:
        if player:
            player.close_all()
        if server is not None:
            server.stop()
            if args.keep:
                out("  server directory kept: %s" % server.tmp)
            server.cleanup()
        if args.verbose:
            out("  (%.2fs)" % (time.monotonic() - t0))


def report_failure(sc, st, f, player, server, out):
    where = "%s:%d" % (sc.path, st.line) if st else sc.path
    out("FAIL %s" % sc.rel)
    out("  at %s: %s" % (where, st.text if st else "(teardown)"))
    out("  %s" % f.msg)
    if f.expected is not None or f.received is not None:
        out(side_by_side(f.expected or "", f.received or ""))
    if player:
        names = [f.client] if f.client else []
        names += [n for n in player.conns if n not in names]
        for n in names:
            c = player.conns.get(n)
            if c is None:
                continue
            out("  --- transcript of %s ---" % n)
            out(c.transcript_text())
    if server is not None:
        tail = server.log_tail(40)
        out("  --- last lines of the server log%s ---" % (
            " (%s)" % server.log_path if server.keep else "; --keep keeps the whole log"))
        out(textwrap.indent(tail or "(empty)", "  | "))
