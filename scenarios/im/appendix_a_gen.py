#!/usr/bin/env python3
"""Writes scenarios/im/appendix_a_<state>.scenario from the tables of
RFC 6121 Appendix A (encoded below from the RFC, independently of the
server's code): for each starting state, the four outbound stanzas
(alice -> b1..b4, local contacts in the mirror state) and the four inbound
ones (r1..r4 on remote.localhost, a vhost without a roster, -> ann).

    python3 scenarios/im/appendix_a_gen.py scenarios/im
"""
import sys, os

OUT = sys.argv[1]

STATES = {  # name: (subscription, pending out, pending in), title
    'none':              (('none', False, False), 'None'),
    'none_pending_out':  (('none', True,  False), 'None + Pending Out'),
    'none_pending_in':   (('none', False, True),  'None + Pending In'),
    'none_both_pending': (('none', True,  True),  'None + Pending Out+In'),
    'to':                (('to',   False, False), 'To'),
    'to_pending_in':     (('to',   False, True),  'To + Pending In'),
    'from':              (('from', False, False), 'From'),
    'from_pending_out':  (('from', True,  False), 'From + Pending Out'),
    'both':              (('both', False, False), 'Both'),
}
# How each state is reached: U = the user's stanza to the contact, C = the
# contact's to the user.
SETUP = {
    'none': [],
    'none_pending_out': [('U', 'subscribe')],
    'none_pending_in': [('C', 'subscribe')],
    'none_both_pending': [('U', 'subscribe'), ('C', 'subscribe')],
    'to': [('U', 'subscribe'), ('C', 'subscribed')],
    'to_pending_in': [('U', 'subscribe'), ('C', 'subscribed'), ('C', 'subscribe')],
    'from': [('C', 'subscribe'), ('U', 'subscribed')],
    'from_pending_out': [('C', 'subscribe'), ('U', 'subscribed'), ('U', 'subscribe')],
    'both': [('U', 'subscribe'), ('C', 'subscribed'), ('C', 'subscribe'), ('U', 'subscribed')],
}
TYPES = ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']

def title(st):
    sub, po, pi = st['sub'], st['ask'], st['pin']
    t = sub.capitalize()
    if po and pi: t += ' + Pending Out+In'
    elif po: t += ' + Pending Out'
    elif pi: t += ' + Pending In'
    if st.get('approved'): t += ' (pre-approved)'
    return t

def item(name, exists, inroster):
    s, po, pi = STATES[name][0]
    return dict(sub=s, ask=po, pin=pi, approved=False, exists=exists, inroster=inroster)

def mirror(name):
    s, po, pi = STATES[name][0]
    s = {'to': 'from', 'from': 'to'}.get(s, s)
    for n, ((s2, po2, pi2), _) in STATES.items():
        if (s2, po2, pi2) == (s, pi, po):
            return n

def visible(it):
    return it['exists'] and it['inroster']

def start(name):
    s, po, pi = STATES[name][0]
    exists = name != 'none'
    inroster = exists and not (s == 'none' and not po)
    return dict(sub=s, ask=po, pin=pi, approved=False, exists=exists, inroster=inroster)

def touch(it):
    """An item that is not only a pending request is in the roster."""
    if it['sub'] != 'none' or it['ask'] or it['approved']:
        it['inroster'] = True
        it['exists'] = True
    elif not it['pin'] and not it['inroster']:
        it['exists'] = False  # RFC 6121 §3.2.2 / §3.3.3: no trace left

def outbound(it, t):
    """A.3: the user sends t. Returns (new item, forwarded)."""
    it = dict(it); s = it['sub']
    fwd = True
    if t == 'subscribe':
        if s not in ('to', 'both'):
            it['ask'] = True
    elif t == 'unsubscribe':
        it['ask'] = False
        it['sub'] = {'both': 'from', 'to': 'none'}.get(s, s)
    elif t == 'subscribed':
        if it['pin']:
            it['pin'] = False
            it['sub'] = {'none': 'from', 'to': 'both'}[s]
        elif s in ('from', 'both'):
            fwd = False  # §3.4: silently ignored
        else:
            it['approved'] = True; fwd = False  # §3.4 pre-approval
    else:
        fwd = s in ('from', 'both') or it['pin']
        it['pin'] = False; it['approved'] = False
        it['sub'] = {'from': 'none', 'both': 'to'}.get(s, s)
    touch(it)
    return it, fwd

def inbound(it, t):
    """A.2: the user receives t. Returns (new item, delivered, auto-reply)."""
    it = dict(it); s = it['sub']
    dlv = False; reply = False
    if t == 'subscribe':
        if s in ('from', 'both'):
            reply = True  # §3.1.3: already subscribed: <subscribed/> back
        else:
            it['pin'] = True; dlv = True
            it['exists'] = True
    elif t == 'subscribed':
        if it['ask']:
            it['ask'] = False; dlv = True
            it['sub'] = {'none': 'to', 'from': 'both'}[s]
    elif t == 'unsubscribe':
        if s in ('from', 'both') or it['pin']:
            it['pin'] = False; dlv = True
            it['sub'] = {'from': 'none', 'both': 'to'}.get(s, s)
    else:
        if s in ('to', 'both') or it['ask']:
            it['ask'] = False; dlv = True
            it['sub'] = {'to': 'none', 'both': 'from'}.get(s, s)
    touch(it)
    return it, dlv, reply

def shown(it):
    return (it['sub'], it['ask'], it['approved'])

def changed_visibly(a, b):
    return visible(b) and (not visible(a) or shown(a) != shown(b))

def xml_item(jid, it, roster_get=False):
    attrs = f"jid='{jid}' subscription='{it['sub']}'"
    if it['ask']:
        attrs += " ask='subscribe'"
    if it['approved']:
        attrs += " approved='true'"
    noattr = [a for a, v in (('ask', it['ask']), ('approved', it['approved'])) if not v]
    if noattr:
        attrs += " scn:no-attr='%s'" % ' '.join(noattr)
    return f"<item {attrs}/>"

def push(jid, it):
    return ("<iq type='set' id='{{*}}'><query xmlns='jabber:iq:roster'>"
            + xml_item(jid, it) + "</query></iq>")

def roster_result(qid, items):
    vis = [(j, it) for j, it in items if visible(it)]
    if not vis:
        return [f"<iq type='result' id='{qid}'><query xmlns='jabber:iq:roster' scn:empty='true'/></iq>"]
    out = [f"<iq type='result' id='{qid}'><query xmlns='jabber:iq:roster'>"]
    for j, it in items:
        # A contact that was in the roster stays listed as None + Pending
        # In (Appendix A), unlike a request alone (§3.1.3): both checked.
        if visible(it):
            out.append('    ' + xml_item(j, it))
        else:
            out.append(f"    <item jid='{j}' scn:absent='true'/>")
    out.append("</query></iq>")
    return out

def describe(it):
    if not it['exists']:
        return 'no item'
    t = title(it)
    if not it['inroster']:
        t += ' (a request only, not in the roster)'
    return t

def block(lines):
    return ['    ' + l for l in lines]

def generate(name):
    (_, ttl) = STATES[name]
    L = []
    A = L.append
    A(f"# RFC 6121 Appendix A, starting state {ttl}: every outbound (alice -> b1..b4, local contacts in the mirror state) and inbound (r1..r4 -> ann) subscribe / subscribed / unsubscribe / unsubscribed: the stanza forwarded or delivered (or not), the roster pushes, and the rosters after")
    A("# (generated by appendix_a_gen.py from the Appendix A tables; r1..r4 are on remote.localhost, a vhost without a roster: it passes on whatever its users send, like a remote server, so the inbound rules of ann's server are seen alone)")
    A("")
    A("config: im-appendix.toml")
    A("attach: skip (needs the remote.localhost stand-in)")
    A("")
    for c, res in [('alice', 'home'), ('ann', 'home')]:
        A(f"[client] {c}\n    jid: {c}@localhost\n    password: pw\n    resource: {res}\n")
    for i in range(1, 5):
        A(f"[client] b{i}\n    jid: b{i}@localhost\n    password: pw\n")
    for i in range(1, 5):
        A(f"[client] r{i}\n    jid: r{i}@remote.localhost\n    password: pw\n    ignore: presence\n")
    for c in ['alice', 'ann'] + [f'b{i}' for i in range(1, 5)] + [f'r{i}' for i in range(1, 5)]:
        A(f"{c} connects")
    # setup
    steps = SETUP[name]
    if steps:
        A("")
        A(f"# Set up {ttl} while nobody is available (requests wait as Pending In)")
    for who, t in steps:
        for i in range(1, 5):
            if who == 'U':
                A(f"alice sends: <presence to='b{i}@localhost' type='{t}'/>")
            else:
                A(f"b{i} sends: <presence to='alice@localhost' type='{t}'/>")
        for i in range(1, 5):
            if who == 'U':
                A(f"ann sends: <presence to='r{i}@remote.localhost' type='{t}'/>")
            else:
                A(f"r{i} sends: <presence to='ann@localhost' type='{t}'/>")
        A("wait 250ms")
    alice = {i: start(name) for i in range(1, 5)}
    bs = {i: start(mirror(name)) for i in range(1, 5)}
    ann = {i: start(name) for i in range(1, 5)}
    # starting rosters
    A("")
    A(f"# The starting state as the rosters show it; b1..b4 are {STATES[mirror(name)][1]}")
    A("alice sends: <iq type='get' id='a0'><query xmlns='jabber:iq:roster'/></iq>")
    A("alice receives:")
    L.extend(block(roster_result('a0', [(f'b{i}@localhost', alice[i]) for i in range(1, 5)])))
    A("ann sends: <iq type='get' id='n0'><query xmlns='jabber:iq:roster'/></iq>")
    A("ann receives:")
    L.extend(block(roster_result('n0', [(f'r{i}@remote.localhost', ann[i]) for i in range(1, 5)])))
    for i in range(1, 5):
        A(f"b{i} sends: <iq type='get' id='b0'><query xmlns='jabber:iq:roster'/></iq>")
        A(f"b{i} receives:")
        L.extend(block(roster_result('b0', [('alice@localhost', bs[i])])))
    A("# b1..b4 become available (alice stays unavailable: no presence side effects)")
    for i in range(1, 5):
        A(f"b{i} sends: <presence/>")
        exp = [f"<presence from='{{{{b{i}.full}}}}' scn:no-attr='type'/>"]
        if bs[i]['pin']:
            exp.append("<presence type='subscribe' from='alice@localhost'/>")
        if len(exp) == 1:
            A(f"b{i} receives:")
        else:
            A(f"b{i} receives in any order:")
        L.extend(block(exp))
    A("# ann becomes available: pending requests are delivered (RFC 6121 §3.1.3)")
    A("ann sends: <presence/>")
    exp = ["<presence from='{{ann.full}}' scn:no-attr='type'/>"]
    for i in range(1, 5):
        if ann[i]['pin']:
            exp.append(f"<presence type='subscribe' from='r{i}@remote.localhost'/>")
    A("ann receives:" if len(exp) == 1 else "ann receives in any order:")
    L.extend(block(exp))
    # outbound
    A("")
    A(f"# Outbound (RFC 6121 Appendix A.3), alice in {ttl}")
    for i, t in enumerate(TYPES, 1):
        before = alice[i]
        after, fwd = outbound(before, t)
        b_before = bs[i]
        A("")
        note = f"alice sends {t}: {describe(before)} -> {describe(after) if shown(after) != shown(before) or after['pin'] != before['pin'] or after['exists'] != before['exists'] else 'no change'}"
        if fwd:
            b_after, dlv, reply = inbound(b_before, t)
            note += f"; forwarded, b{i} {describe(b_before)} -> " + (describe(b_after) if b_after != b_before else 'no change')
            note += '; delivered' if dlv else '; not delivered'
            if reply:
                note += f" (b{i}'s server answers <subscribed/> on b{i}'s behalf, alice's server ignores it: alice is not Pending Out)"
        else:
            b_after, dlv, reply = b_before, False, False
            note += "; not forwarded"
        A("# " + note)
        A(f"alice sends: <presence to='b{i}@localhost' type='{t}' id='o{i}'/>")
        if changed_visibly(before, after):
            A("alice receives:")
            L.extend(block([push(f'b{i}@localhost', after)]))
        exp = []
        if dlv:
            exp.append(f"<presence type='{t}' from='alice@localhost' to='b{i}@localhost' id='o{i}'/>")
        if changed_visibly(b_before, b_after):
            exp.append(push('alice@localhost', b_after))
        if exp:
            A(f"b{i} receives:")
            L.extend(block(exp))
        alice[i] = after; bs[i] = b_after
    # inbound
    A("")
    A(f"# Inbound (RFC 6121 Appendix A.2), ann in {ttl}")
    for i, t in enumerate(TYPES, 1):
        before = ann[i]
        after, dlv, reply = inbound(before, t)
        A("")
        note = f"r{i} sends {t}: ann {describe(before)} -> " + (describe(after) if after != before else 'no change')
        note += '; delivered' if dlv else '; not delivered'
        if reply:
            note += " (ann's server answers <subscribed/> on her behalf, §3.1.3)"
        A("# " + note)
        A(f"r{i} sends: <presence to='ann@localhost' type='{t}' id='i{i}'/>")
        exp = []
        if dlv:
            exp.append(f"<presence type='{t}' from='r{i}@remote.localhost' to='ann@localhost' id='i{i}'/>")
        if changed_visibly(before, after):
            exp.append(push(f'r{i}@remote.localhost', after))
        if exp:
            A("ann receives:")
            L.extend(block(exp))
        ann[i] = after
    # final
    A("")
    A("# The rosters after; nothing else arrived")
    A("alice sends: <iq type='get' id='a1'><query xmlns='jabber:iq:roster'/></iq>")
    A("alice receives:")
    L.extend(block(roster_result('a1', [(f'b{i}@localhost', alice[i]) for i in range(1, 5)])))
    A("ann sends: <iq type='get' id='n1'><query xmlns='jabber:iq:roster'/></iq>")
    A("ann receives:")
    L.extend(block(roster_result('n1', [(f'r{i}@remote.localhost', ann[i]) for i in range(1, 5)])))
    for i in range(1, 5):
        A(f"b{i} sends: <iq type='get' id='b1'><query xmlns='jabber:iq:roster'/></iq>")
        A(f"b{i} receives:")
        L.extend(block(roster_result('b1', [('alice@localhost', bs[i])])))
    A("wait 200ms")
    for c in ['alice', 'ann'] + [f'b{i}' for i in range(1, 5)]:
        A(f"{c} receives nothing within 50ms")
    return '\n'.join(L) + '\n'

for name in STATES:
    with open(os.path.join(OUT, f'appendix_a_{name}.scenario'), 'w') as f:
        f.write(generate(name))
