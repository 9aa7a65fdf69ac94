#define CAF_SUITE plugins.muc.room

// The room logic of plugins/muc (state.hpp) driven without a router: a
// room is created by its first occupant (201, locked until configured,
// §10.1), others enter (§7.2.3 presence order, 110), the §7.2 errors,
// groupchat fan-out with stanza-id and occupant-id (§7.4, XEP-0359,
// XEP-0421), private messages (§7.5), nick change (§7.6), history
// bounds (§7.2.15), kick and ban (§8.2, §9.1), destruction (§10.9), and
// the stored form (persistence across hibernation).

#include <malloc.h>

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "common/stored_xml.hpp"
#include "plugins/muc/state.hpp"

using namespace dja;
using namespace dja::plugins::muc;

namespace {

xml::element_ptr parse(const std::string& s) {
  auto e = xml::parse_stored(s);
  CAF_REQUIRE(e != nullptr);
  return e;
}

jid J(const std::string& s) {
  auto j = jid::parse(s);
  CAF_REQUIRE(j.has_value());
  return *j;
}

struct fixture {
  room_state st;

  fixture() {
    st.room = J("room@conference.localhost");
    st.fresh = true;
    st.locked = true;
    st.salt = "salt";
  }

  /// Sends `xml` from `from` to `to` and returns what the room said.
  std::vector<outgoing> send(const std::string& from, const std::string& to,
                             const std::string& xml) {
    st.out.clear();
    auto s = parse(xml);
    auto e = std::make_shared<xml::element>(*s);
    e->set_attr("from", from);
    e->set_attr("to", to);
    handle(st, e, J(from), J(to));
    return std::move(st.out);
  }

  std::vector<outgoing> join(const std::string& who, const std::string& nick,
                             const std::string& x = "<x xmlns='"
                                                    "http://jabber.org/"
                                                    "protocol/muc'/>") {
    return send(who, "room@conference.localhost/" + nick,
                "<presence xmlns='jabber:client'>" + x + "</presence>");
  }

  void create_instant() {
    join("alice@localhost/a", "alice");
    auto r = send("alice@localhost/a", "room@conference.localhost",
                  "<iq xmlns='jabber:client' type='set' id='c'>"
                  "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                  "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
    CAF_REQUIRE_EQUAL(r.size(), 1u);
    CAF_REQUIRE(!st.locked);
  }
};

std::vector<std::string> codes(const xml::element& p) {
  std::vector<std::string> out;
  if (auto x = p.child("x", ns_user))
    for (auto* c : x->elements())
      if (c->name == "status")
        out.push_back(c->attr_or("code"));
  return out;
}

std::string condition(const xml::element& s) {
  auto e = s.child("error");
  CAF_REQUIRE(e != nullptr);
  auto c = e->first_element();
  return c ? c->name : "";
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(room_tests, fixture)

CAF_TEST(the first occupant creates a locked room and owns it) {
  auto r = join("alice@localhost/a", "alice");
  CAF_REQUIRE_EQUAL(r.size(), 2u); // the self-presence, the subject
  CAF_CHECK_EQUAL(r[0].to, J("alice@localhost/a"));
  CAF_CHECK_EQUAL(codes(*r[0].stanza),
                  (std::vector<std::string>{"110", "201"}));
  CAF_CHECK(st.affiliation_of(J("alice@localhost/b")) == affiliation::owner);
  // §10.1.1: nobody else enters a locked room.
  r = join("bob@localhost/b", "bob");
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(condition(*r[0].stanza), "item-not-found");
}

CAF_TEST(entering sends the others first then the self presence) {
  create_instant();
  auto r = join("bob@localhost/b", "bob");
  // alice to bob, bob to alice, bob's self-presence, the subject.
  CAF_REQUIRE_EQUAL(r.size(), 4u);
  CAF_CHECK_EQUAL(r[0].from, J("room@conference.localhost/alice"));
  CAF_CHECK_EQUAL(r[0].to, J("bob@localhost/b"));
  CAF_CHECK_EQUAL(r[1].to, J("alice@localhost/a"));
  CAF_CHECK_EQUAL(codes(*r[2].stanza), (std::vector<std::string>{"110"}));
  CAF_CHECK(r[3].stanza->child("subject") != nullptr);
  // Semi-anonymous: bob sees no JID, alice (moderator) does.
  auto item = [](const outgoing& o) {
    return o.stanza->child("x", ns_user)->child("item", ns_user);
  };
  CAF_CHECK(item(r[0])->attr("jid") == nullptr);
  CAF_CHECK_EQUAL(item(r[1])->attr_or("jid"), "bob@localhost/b");
  CAF_CHECK(r[0].stanza->child("occupant-id", ns_occupant_id) != nullptr);
}

CAF_TEST(the entry errors of section 7.2) {
  create_instant();
  auto cond = [&](const std::vector<outgoing>& r) {
    CAF_REQUIRE_EQUAL(r.size(), 1u);
    return condition(*r[0].stanza);
  };
  CAF_CHECK_EQUAL(cond(send("bob@localhost/b", "room@conference.localhost",
                            "<presence xmlns='jabber:client'/>")),
                  "jid-malformed");
  CAF_CHECK_EQUAL(cond(join("bob@localhost/b", "alice")), "conflict");
  st.config.password_protected = true;
  st.config.password = "secret";
  CAF_CHECK_EQUAL(cond(join("bob@localhost/b", "bob")), "not-authorized");
  st.config.password_protected = false;
  st.config.members_only = true;
  CAF_CHECK_EQUAL(cond(join("bob@localhost/b", "bob")),
                  "registration-required");
  st.config.members_only = false;
  st.affiliations["bob@localhost"] = affiliation::outcast;
  CAF_CHECK_EQUAL(cond(join("bob@localhost/b", "bob")), "forbidden");
  st.affiliations.erase("bob@localhost");
  st.config.max_users = 1;
  CAF_CHECK_EQUAL(cond(join("bob@localhost/b", "bob")),
                  "service-unavailable");
}

CAF_TEST(groupchat goes to everyone with ids and is kept as history) {
  create_instant();
  join("bob@localhost/b", "bob");
  auto r = send("bob@localhost/b", "room@conference.localhost",
                "<message xmlns='jabber:client' type='groupchat' id='m1'>"
                "<body>hi</body></message>");
  CAF_REQUIRE_EQUAL(r.size(), 2u);
  for (auto& o : r) {
    CAF_CHECK_EQUAL(o.from, J("room@conference.localhost/bob"));
    CAF_CHECK(o.stanza->child("stanza-id", "urn:xmpp:sid:0") != nullptr);
    CAF_CHECK(o.stanza->child("occupant-id", ns_occupant_id) != nullptr);
  }
  CAF_CHECK_EQUAL(st.history.size(), 1u);
  // Not an occupant: not-acceptable (§7.4).
  r = send("carol@localhost/c", "room@conference.localhost",
           "<message xmlns='jabber:client' type='groupchat'>"
           "<body>x</body></message>");
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(condition(*r[0].stanza), "not-acceptable");
  // History: maxstanzas='0' sends none, the default sends it.
  auto h = join("carol@localhost/c", "carol",
                "<x xmlns='http://jabber.org/protocol/muc'>"
                "<history maxstanzas='0'/></x>");
  for (auto& o : h)
    CAF_CHECK(o.stanza->child("body") == nullptr);
  send("carol@localhost/c", "room@conference.localhost/carol",
       "<presence xmlns='jabber:client' type='unavailable'/>");
  h = join("carol@localhost/c", "carol");
  size_t delayed = 0;
  for (auto& o : h)
    delayed += o.stanza->child("delay", ns_delay) ? 1 : 0;
  CAF_CHECK_EQUAL(delayed, 1u);
}

CAF_TEST(private messages carry the muc user element) {
  create_instant();
  join("bob@localhost/b", "bob");
  auto r = send("bob@localhost/b", "room@conference.localhost/alice",
                "<message xmlns='jabber:client' type='chat'>"
                "<body>psst</body></message>");
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(r[0].to, J("alice@localhost/a"));
  CAF_CHECK(r[0].stanza->child("x", ns_user) != nullptr);
  r = send("bob@localhost/b", "room@conference.localhost/nobody",
           "<message xmlns='jabber:client' type='chat'><body>x</body>"
           "</message>");
  CAF_CHECK_EQUAL(condition(*r[0].stanza), "item-not-found");
}

CAF_TEST(nick change sends 303 then the new presence) {
  create_instant();
  join("bob@localhost/b", "bob");
  auto r = join("bob@localhost/b", "robert");
  CAF_REQUIRE_EQUAL(r.size(), 4u);
  CAF_CHECK_EQUAL(r[0].stanza->attr_or("type"), "unavailable");
  CAF_CHECK(st.occupants.count("robert") == 1);
  CAF_CHECK(st.occupants.count("bob") == 0);
}

CAF_TEST(kick and ban remove the occupant with 307 and 301) {
  create_instant();
  join("bob@localhost/b", "bob");
  auto r = send("alice@localhost/a", "room@conference.localhost",
                "<iq xmlns='jabber:client' type='set' id='k'><query xmlns="
                "'http://jabber.org/protocol/muc#admin'><item nick='bob' "
                "role='none'/></query></iq>");
  CAF_REQUIRE_EQUAL(r.size(), 3u);
  CAF_CHECK_EQUAL(codes(*r[0].stanza),
                  (std::vector<std::string>{"307", "110"}));
  CAF_CHECK(st.occupants.count("bob") == 0);
  join("bob@localhost/b", "bob");
  r = send("alice@localhost/a", "room@conference.localhost",
           "<iq xmlns='jabber:client' type='set' id='b'><query xmlns="
           "'http://jabber.org/protocol/muc#admin'><item jid='bob@localhost'"
           " affiliation='outcast'/></query></iq>");
  CAF_CHECK(st.occupants.count("bob") == 0);
  CAF_CHECK(st.affiliation_of(J("bob@localhost")) == affiliation::outcast);
  // bob, not a moderator, cannot kick alice.
  r = send("bob@localhost/b", "room@conference.localhost",
           "<iq xmlns='jabber:client' type='set' id='k'><query xmlns="
           "'http://jabber.org/protocol/muc#admin'><item nick='alice' "
           "role='none'/></query></iq>");
  CAF_CHECK_EQUAL(condition(*r[0].stanza), "forbidden");
}

CAF_TEST(the stored form keeps config affiliations and archive) {
  create_instant();
  st.config.persistent = true;
  st.config.name = "The Room";
  send("alice@localhost/a", "room@conference.localhost",
       "<message xmlns='jabber:client' type='groupchat'><body>kept</body>"
       "</message>");
  auto doc = to_stored(st);
  room_state back;
  back.room = st.room;
  CAF_REQUIRE(from_stored(back, doc));
  CAF_CHECK(back.config.persistent);
  CAF_CHECK_EQUAL(back.config.name, "The Room");
  CAF_CHECK(back.affiliation_of(J("alice@localhost")) == affiliation::owner);
  CAF_REQUIRE_EQUAL(back.history.size(), 1u);
  CAF_CHECK_EQUAL(back.history[0].stanza->child("body")->text(), "kept");
  CAF_CHECK_EQUAL(back.occupant_id(J("alice@localhost/x")),
                  st.occupant_id(J("alice@localhost/y")));
}

CAF_TEST(destruction tells everyone and ends the room) {
  create_instant();
  join("bob@localhost/b", "bob");
  auto r = send("alice@localhost/a", "room@conference.localhost",
                "<iq xmlns='jabber:client' type='set' id='d'><query xmlns="
                "'http://jabber.org/protocol/muc#owner'><destroy jid="
                "'other@conference.localhost'><reason>moved</reason>"
                "</destroy></query></iq>");
  CAF_REQUIRE_EQUAL(r.size(), 3u);
  CAF_CHECK(st.destroyed);
  CAF_CHECK(st.empty());
  auto d = r[1].stanza->child("x", ns_user)->child("destroy", ns_user);
  CAF_REQUIRE(d != nullptr);
  CAF_CHECK_EQUAL(d->attr_or("jid"), "other@conference.localhost");
}

CAF_TEST(the rooms one account is in are bounded) {
  create_instant(); // alice is in (1)
  st.joined = std::make_shared<occupancy>(2);
  st.joined->enter("bob@localhost"); // bob is in another room already
  auto r = join("bob@localhost/b", "bob");
  CAF_REQUIRE_EQUAL(r.size(), 4u); // in: his second room
  CAF_CHECK_EQUAL(st.joined->of("bob@localhost"), 2u);
  // His other resource would be a third: resource-constraint, not in.
  r = join("bob@localhost/b2", "bob2");
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(condition(*r[0].stanza), "resource-constraint");
  CAF_CHECK_EQUAL(st.occupants.count("bob2"), 0u);
  // Leaving gives the room back.
  send("bob@localhost/b", "room@conference.localhost/bob",
       "<presence xmlns='jabber:client' type='unavailable'/>");
  CAF_CHECK_EQUAL(st.joined->of("bob@localhost"), 1u);
  r = join("bob@localhost/b2", "bob2");
  CAF_CHECK_EQUAL(codes(*r.back().stanza).size(), 0u); // the subject last
  CAF_CHECK_EQUAL(st.occupants.count("bob2"), 1u);
  // A kick too.
  send("alice@localhost/a", "room@conference.localhost",
       "<iq xmlns='jabber:client' type='set' id='k'><query xmlns="
       "'http://jabber.org/protocol/muc#admin'><item nick='bob2' "
       "role='none'/></query></iq>");
  CAF_CHECK_EQUAL(st.joined->of("bob@localhost"), 1u);
}

CAF_TEST(a room given up tells each occupant 110 and 332) {
  create_instant();
  join("bob@localhost/b", "bob");
  st.out.clear();
  shut_down(st);
  CAF_REQUIRE_EQUAL(st.out.size(), 2u);
  for (auto& o : st.out) {
    CAF_CHECK_EQUAL(o.stanza->attr_or("type"), "unavailable");
    CAF_CHECK_EQUAL(codes(*o.stanza),
                    (std::vector<std::string>{"110", "332"}));
    std::string want = o.from.resource() == "alice" ? "alice@localhost/a"
                                                    : "bob@localhost/b";
    CAF_CHECK_EQUAL(o.to.str(), want);
  }
  CAF_CHECK(st.empty());
  CAF_CHECK(st.by_real.empty());
}

CAF_TEST(an occupant costs less than 1 KiB) {
  // mallinfo2 around 300 entries with a typical client presence (caps,
  // show), the outgoing stanzas dropped as the router would.
  create_instant();
  constexpr int n = 300;
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < n; ++i) {
    auto nick = "occupant" + std::to_string(i);
    join("user" + std::to_string(i) + "@localhost/res-" + std::to_string(i)
           + "-5f2d9c1a",
         nick,
         "<x xmlns='http://jabber.org/protocol/muc'/><show>away</show>"
         "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
         "node='https://example.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>");
    st.out.clear();
    st.out.shrink_to_fit();
  }
  auto per = (mallinfo2().uordblks - before) / n;
  CAF_MESSAGE("bytes per occupant: " << per << " (sizeof occupant "
                                     << sizeof(occupant) << ")");
  CAF_CHECK_LESS(per, 1024u);
}

CAF_TEST_FIXTURE_SCOPE_END()
