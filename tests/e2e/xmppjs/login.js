// An xmpp.js client that logs in once (tests/e2e/test_plus_xmppjs.py):
//   node login.js xmpp://HOST:PORT DOMAIN USERNAME PASSWORD
// STARTTLS (xmpp.js upgrades a plain xmpp:// stream when offered) and its
// SASL mechanisms (SCRAM-SHA-1 with gs2 flag 'n', PLAIN). Prints the TLS
// version and exits 0 once online, 1 on an error; the caller bounds the run.
import { client } from "@xmpp/client";

const [service, domain, username, password] = process.argv.slice(2);
const xmpp = client({ service, domain, username, password, resource: "xmppjs" });

xmpp.on("error", (err) => {
  console.error("error: " + (err.condition || "") + " " + err.message);
  process.exit(1);
});

xmpp.on("online", async (address) => {
  const tls = xmpp.socket && xmpp.socket.socket;
  const version = tls && tls.getProtocol ? tls.getProtocol() : "none";
  console.log("session established as " + address + ", TLS " + version);
  await xmpp.stop().catch(() => {});
  process.exit(0);
});

xmpp.start().catch((err) => {
  console.error("start failed: " + err.message);
  process.exit(1);
});
