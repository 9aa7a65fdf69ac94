// Micro benchmark of xml::serialize() (actors/common/xml.cpp), which every
// stanza passes through on its way out: typical stanzas (a chat message,
// a presence with caps and a vCard hash, a 50-item roster result) and the
// pathological one (a long namespace on 850 siblings), each serialized
// repeatedly; prints nanoseconds per stanza and output bytes.
//   build/bench/dja-xml-serialize [iterations]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/xml.hpp"

using namespace dja::xml;

namespace {

element message() {
  element m{"message", "jabber:client"};
  m.set_attr("to", "juliet@capulet.lit/balcony")
    .set_attr("from", "romeo@montague.lit/orchard")
    .set_attr("type", "chat")
    .set_attr("id", "ktx72v49");
  m.add_child(element{"body", "jabber:client"})
    .add_text("Art thou not Romeo, and a Montague?");
  m.add_child(element{"active", "http://jabber.org/protocol/chatstates"});
  return m;
}

element presence() {
  element p{"presence", "jabber:client"};
  p.set_attr("from", "romeo@montague.lit/orchard");
  p.add_child(element{"show", "jabber:client"}).add_text("away");
  p.add_child(element{"c", "http://jabber.org/protocol/caps"})
    .set_attr("hash", "sha-1")
    .set_attr("node", "http://code.google.com/p/exodus")
    .set_attr("ver", "QgayPKawpkPSDYmwT/WM94uAlu0=");
  p.add_child(element{"x", "vcard-temp:x:update"})
    .add_child(element{"photo", "vcard-temp:x:update"})
    .add_text("sha1-hash-of-image");
  return p;
}

element roster() {
  element iq{"iq", "jabber:client"};
  iq.set_attr("type", "result").set_attr("id", "r1");
  auto& q = iq.add_child(element{"query", "jabber:iq:roster"});
  for (int i = 0; i < 50; ++i) {
    auto& item = q.add_child(element{"item", "jabber:iq:roster"});
    item.set_attr("jid", "contact" + std::to_string(i) + "@example.com")
      .set_attr("name", "Contact " + std::to_string(i))
      .set_attr("subscription", "both");
    item.add_child(element{"group", "jabber:iq:roster"}).add_text("Friends");
  }
  return iq;
}

element amplifier() {
  element m{"message", "jabber:client"};
  auto& body = m.add_child(element{"body", "jabber:client"});
  std::string ns = "urn:" + std::string(2000, 'n');
  for (int i = 0; i < 850; ++i)
    body.add_child(element{"c", "jabber:client"})
      .attrs.push_back(attribute{"a", "1", ns});
  return m;
}

void run(const char* name, const element& e, long n) {
  std::string out;
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    out.clear();
    serialize(e, out);
  }
  auto dt = std::chrono::steady_clock::now() - t0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count();
  std::printf("%-10s %9.0f ns/stanza %8zu bytes\n", name,
              static_cast<double>(ns) / static_cast<double>(n), out.size());
}

} // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  run("message", message(), n);
  run("presence", presence(), n);
  run("roster50", roster(), n / 20);
  run("amplifier", amplifier(), n / 1000 + 1);
}
