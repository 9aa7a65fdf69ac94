// XEP-0198 with xmpp.js's stream management (tests/e2e/test_sm_xmppjs.py):
//   node sm.js xmpp://HOST:PORT DOMAIN PHONE_USER LAPTOP_USER PASSWORD
// The phone (resumption on, as @xmpp/client enables it whenever the
// server offers <sm/>) and the laptop log in and exchange messages; the
// phone's TCP socket is destroyed (no </stream:stream>); the laptop sends
// while it is away; xmpp.js reconnects and sends <resume previd h/>.
// Prints one line per step ("step: ...") and "PASS" at the end, or
// "FAIL: why" and exits 1. The caller bounds the run.
import { client, xml } from "@xmpp/client";

const [service, domain, phoneUser, laptopUser, password] =
  process.argv.slice(2);
const STEP = 10000;

function fail(why) {
  console.log("FAIL: " + why);
  process.exit(1);
}

function log(s) {
  console.log("step: " + s);
}

/// Resolves when `pred()` holds, checked at every event of `emitter`s
/// and every 50 ms; fails after STEP.
function until(pred, what) {
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - start > STEP) return fail("timed out: " + what);
      setTimeout(tick, 50);
    };
    tick();
  });
}

function makeClient(username, resource) {
  const c = client({ service, domain, username, password, resource });
  c.bodies = [];
  c.stanzas = 0;
  c.on("error", (err) => log(username + " error " + (err.condition || err.message)));
  c.on("stanza", (s) => {
    c.stanzas++;
    if (s.is("message") && s.getChildText("body"))
      c.bodies.push({ body: s.getChildText("body"), delayed: !!s.getChild("delay", "urn:xmpp:delay") });
  });
  return c;
}

function chat(from, to, body) {
  return from.send(xml("message", { to, type: "chat" }, xml("body", {}, body)));
}

const phone = makeClient(phoneUser, "phone");
const laptop = makeClient(laptopUser, "laptop");
const sm = phone.streamManagement;
let resumedEvents = 0;
sm.on("resumed", () => resumedEvents++);
let onlineEvents = 0;
phone.on("online", () => onlineEvents++);

await phone.start().catch((e) => fail("phone start: " + e.message));
await laptop.start().catch((e) => fail("laptop start: " + e.message));
await until(() => sm.enabled && sm.id, "stream management enabled with an id");
log("phone online as " + phone.jid + ", sm id " + sm.id);
const phoneJid = phone.jid.toString();
const laptopJid = laptop.jid.toString();

// Both directions, acknowledged.
await chat(phone, laptopJid, "p1");
await chat(laptop, phoneJid, "l1");
await until(() => laptop.bodies.some((b) => b.body === "p1"), "laptop gets p1");
await until(() => phone.bodies.some((b) => b.body === "l1"), "phone gets l1");
await until(() => sm.outbound_q.length === 0, "the server acknowledges p1");
log("exchanged, acknowledged");

// A message the phone sends just before its network goes: whether the
// server handled it or not, the h of <resumed/> decides, and the laptop
// must get it exactly once.
await chat(phone, laptopJid, "p2");
phone.socket.socket.destroy(); // no </stream:stream>: the link just dies
log("phone socket destroyed");
await chat(laptop, phoneJid, "l2");
await chat(laptop, phoneJid, "l3");

await until(() => resumedEvents === 1, "xmpp.js resumes the session");
log("resumed as " + phone.jid);
if (phone.jid.toString() !== phoneJid)
  fail("the resumed session has another JID: " + phone.jid);
await until(() => phone.bodies.some((b) => b.body === "l3"), "phone gets l2, l3 after resuming");
await chat(phone, laptopJid, "p3");
await until(() => laptop.bodies.some((b) => b.body === "p3"), "laptop gets p3");
await new Promise((r) => setTimeout(r, 500)); // duplicates would show now

const phoneBodies = phone.bodies.map((b) => b.body);
const laptopBodies = laptop.bodies.map((b) => b.body);
log("phone got " + JSON.stringify(phoneBodies));
log("laptop got " + JSON.stringify(laptopBodies));
if (JSON.stringify(phoneBodies) !== JSON.stringify(["l1", "l2", "l3"]))
  fail("the phone got " + JSON.stringify(phoneBodies) + ", not l1, l2, l3 once each in order");
if (JSON.stringify(laptopBodies) !== JSON.stringify(["p1", "p2", "p3"]))
  fail("the laptop got " + JSON.stringify(laptopBodies) + ", not p1, p2, p3 once each in order");
// XEP-0198 §5 / XEP-0203: what the resumption delivers is stamped.
if (!phone.bodies.filter((b) => b.body !== "l1").every((b) => b.delayed))
  fail("l2 and l3 came without a <delay/> stamp");

await phone.stop().catch(() => {});
await laptop.stop().catch(() => {});
console.log("PASS");
process.exit(0);
