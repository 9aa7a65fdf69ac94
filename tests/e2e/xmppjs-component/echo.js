// An xmpp.js component (tests/e2e/test_component_xmppjs.py):
//   node echo.js xmpp://HOST:PORT DOMAIN SECRET
// Connects as DOMAIN over XEP-0114 and prints "online". It answers a
// message with "echo: BODY" from the JID it was sent to, and the message
// "ping me" by pinging the sender (XEP-0199) first and answering "pong";
// it answers disco#info with the identity gateway/xmppjs. Stops when its
// stdin closes; exits 1 (printing the condition) on an error such as a
// refused handshake.
import { component, xml } from "@xmpp/component";

const [service, domain, password] = process.argv.slice(2);
const xmpp = component({ service, domain, password });
xmpp.reconnect.stop(); // one connection: a refusal ends the run

xmpp.on("error", (err) => {
  console.log("error: " + (err.condition || "") + " " + err.message);
  process.exit(1);
});

xmpp.iqCallee.get("http://jabber.org/protocol/disco#info", "query", () =>
  xml("query", { xmlns: "http://jabber.org/protocol/disco#info" },
      xml("identity", { category: "gateway", type: "xmppjs", name: "xmpp.js" })));

xmpp.on("stanza", async (stanza) => {
  if (!stanza.is("message") || stanza.attrs.type === "error")
    return;
  const body = stanza.getChildText("body");
  if (body === null)
    return;
  let answer = "echo: " + body;
  if (body === "ping me") {
    try {
      await xmpp.iqCaller.request(
        xml("iq", { type: "get", to: stanza.attrs.from, from: stanza.attrs.to },
            xml("ping", { xmlns: "urn:xmpp:ping" })), 10000);
      answer = "pong";
    } catch (err) {
      answer = "ping failed: " + err.message;
    }
  }
  await xmpp.send(xml("message", { to: stanza.attrs.from, from: stanza.attrs.to,
                                   type: stanza.attrs.type || "normal" },
                      xml("body", {}, answer)));
});

xmpp.on("online", () => console.log("online"));

process.stdin.on("end", async () => {
  await xmpp.stop().catch(() => {});
  process.exit(0);
});
process.stdin.resume();

xmpp.start().catch((err) => {
  console.log("start failed: " + (err.condition || "") + " " + err.message);
  process.exit(1);
});
