#define CAF_SUITE common.carbons

// XEP-0280 eligibility, wrapping and forged-carbon stripping
// (actors/common/carbons.hpp).

#include "common/carbons.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <string>

#include "common/stored_xml.hpp"

using dja::jid;
namespace carbons = dja::carbons;
namespace xml = dja::xml;
using carbons::direction;

namespace {

xml::element_ptr x(std::string_view text) {
  auto e = xml::parse_stored(text);
  CAF_REQUIRE(e != nullptr);
  return e;
}

bool in(std::string_view text) {
  return carbons::eligible(*x(text), direction::received);
}

bool out(std::string_view text) {
  return carbons::eligible(*x(text), direction::sent);
}

} // namespace

// §6: chat; normal with a body; nothing else by type.
CAF_TEST(eligible by type) {
  CAF_CHECK(in("<message type='chat'/>"));
  CAF_CHECK(out("<message type='chat'><composing "
                "xmlns='http://jabber.org/protocol/chatstates'/></message>"));
  CAF_CHECK(in("<message><body>hi</body></message>"));
  CAF_CHECK(in("<message type='normal'><body>hi</body></message>"));
  CAF_CHECK(!in("<message type='normal'/>"));
  CAF_CHECK(!in("<message type='groupchat'><body>hi</body></message>"));
  CAF_CHECK(!in("<message type='headline'><body>hi</body></message>"));
  CAF_CHECK(!in("<presence/>"));
}

// §6: an error bounce from a bare JID, inbound only.
CAF_TEST(errors) {
  auto bounce = "<message type='error' from='bob@example.org'/>";
  CAF_CHECK(in(bounce));
  CAF_CHECK(!out(bounce));
  CAF_CHECK(!in("<message type='error' from='bob@example.org/x'/>"));
  CAF_CHECK(!in("<message type='error' from='example.org'/>"));
}

// §9 <private/>, XEP-0334 <no-copy/>, MUC messages, carbons themselves.
CAF_TEST(never copied) {
  CAF_CHECK(!out("<message type='chat'><body>x</body>"
                 "<private xmlns='urn:xmpp:carbons:2'/></message>"));
  CAF_CHECK(!in("<message type='chat'><body>x</body>"
                "<no-copy xmlns='urn:xmpp:hints'/></message>"));
  CAF_CHECK(!in("<message type='chat'><body>x</body>"
                "<x xmlns='http://jabber.org/protocol/muc#user'/></message>"));
  CAF_CHECK(!in("<message type='chat'><received xmlns='urn:xmpp:carbons:2'/>"
                "</message>"));
  // other hints do not matter
  CAF_CHECK(in("<message type='chat'><body>x</body>"
               "<no-store xmlns='urn:xmpp:hints'/></message>"));
}

// §7, §8: from the bare JID, same type, the original inside <forwarded/>.
CAF_TEST(wrap) {
  auto m = x("<message type='chat' from='bob@b.example/x' "
             "to='alice@a.example/phone' id='m1'><body>hi</body></message>");
  auto user = *jid::parse("alice@a.example/laptop");
  auto c = carbons::wrap(m, user, direction::sent);
  CAF_CHECK_EQUAL(xml::to_string(*c),
                  "<message from='alice@a.example' type='chat'>"
                  "<sent xmlns='urn:xmpp:carbons:2'>"
                  "<forwarded xmlns='urn:xmpp:forward:0'>"
                  "<message xmlns='jabber:client' type='chat' "
                  "from='bob@b.example/x' to='alice@a.example/phone' "
                  "id='m1'><body>hi</body></message>"
                  "</forwarded></sent></message>");
  auto d = direction::received;
  auto* orig = carbons::inner(*c, &d);
  CAF_REQUIRE(orig != nullptr);
  CAF_CHECK(d == direction::sent);
  CAF_CHECK_EQUAL(orig->attr_or("id"), "m1");
  CAF_CHECK(carbons::inner(*m) == nullptr);
}

// §11: wrappers from outside are removed, everything else kept.
CAF_TEST(strip forged) {
  CAF_CHECK(carbons::strip_forged(*x("<message><body>a</body></message>"))
            == nullptr);
  auto forged = x("<message id='f'><body>a</body>"
                  "<received xmlns='urn:xmpp:carbons:2'><forwarded "
                  "xmlns='urn:xmpp:forward:0'><message/></forwarded>"
                  "</received><sent xmlns='urn:xmpp:carbons:2'/></message>");
  auto clean = carbons::strip_forged(*forged);
  CAF_REQUIRE(clean != nullptr);
  CAF_CHECK_EQUAL(xml::to_string(*clean),
                  "<message id='f'><body>a</body></message>");
}
