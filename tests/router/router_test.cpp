#define CAF_SUITE router.router

// The sharded router (RFC 6121 §8 delivery rules), driven by the
// deterministic test coordinator. Sessions are fake actors recording what
// they get; the vhost is a fake answering the `deliver` hook.

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/server_context.hpp"
#include "hooks/catalogue.hpp"
#include "router/bind_error.hpp"
#include "router/router.hpp"

using namespace dja;

namespace {

jid J(const std::string& s) {
  return *jid::parse(s);
}

/// What a fake session got.
struct inbox {
  std::vector<xml::element_ptr> stanzas;
  int conflicts = 0;
};

caf::behavior fake_session(caf::event_based_actor*,
                           std::shared_ptr<inbox> box) {
  return {
    [box](const msg::deliver_local& d) { box->stanzas.push_back(d.stanza); },
    [box](conflict_atom) { ++box->conflicts; },
  };
}

/// The JIDs a fake vhost was asked to `deliver` to.
using deliver_log = std::vector<std::string>;

caf::behavior fake_vhost(caf::event_based_actor*,
                         std::shared_ptr<deliver_log> log, bool take) {
  return {
    [log, take](const hooks::deliver& d) {
      log->push_back(d.to.str());
      return hooks::delivery_verdict{take, {}};
    },
  };
}

struct session {
  jid full;
  caf::actor hdl;
  std::shared_ptr<inbox> box;
  bool replaced = false; ///< what the bind answered

  size_t got() const {
    return box->stanzas.size();
  }
  const xml::element& last() const {
    return *box->stanzas.back();
  }
};

xml::element_ptr stanza(const std::string& name, const std::string& from,
                        const std::string& to, const std::string& type,
                        const std::string& id = "s1") {
  auto e = std::make_shared<xml::element>(name, ns::client);
  e->set_attr("from", from);
  e->set_attr("to", to);
  if (!type.empty())
    e->set_attr("type", type);
  e->set_attr("id", id);
  if (name == "message")
    e->add_child(xml::element{"body", ns::client}).add_text("hi");
  else if (name == "iq")
    e->add_child(xml::element{"ping", ns::ping});
  return e;
}

/// The defined condition of an error stanza, or "" when it is none.
std::string condition(const xml::element& e) {
  if (e.attr_or("type") != "error")
    return {};
  auto err = e.child("error");
  auto c = err ? err->first_element() : nullptr;
  return c && c->ns == ns::stanzas_err ? c->name : std::string{};
}

template <size_t Shards>
struct fixture : test_coordinator_fixture<> {
  /// example.org: the deliver hook takes nothing; store.example: all.
  std::shared_ptr<deliver_log> asked = std::make_shared<deliver_log>();
  std::shared_ptr<deliver_log> stored = std::make_shared<deliver_log>();
  router_ref router;
  std::shared_ptr<vhost_table> table = std::make_shared<vhost_table>();

  fixture() {
    (*table)["example.org"].actor = sys.spawn(fake_vhost, asked, false);
    (*table)["store.example"].actor = sys.spawn(fake_vhost, stored, true);
    router.shards = spawn_router(sys, Shards, table);
    run();
  }

  ~fixture() override {
    stop_router();
  }

  void stop_router() {
    // The shards know each other (a cycle): stop them as the server does.
    for (auto& s : router.shards)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    run();
  }

  /// A fresh router with these [limits].
  void restart_router(const dja::limits& bounds) {
    stop_router();
    router.shards = spawn_router(sys, Shards, table, nullptr, nullptr, bounds);
    run();
  }

  /// The error a bind of `full` gets (none: it was bound).
  caf::error bind_error(const std::string& full) {
    auto hdl = sys.spawn(fake_session, std::make_shared<inbox>());
    auto rh = self->request(router.shard_for(J(full)), caf::infinite,
                            msg::bind{J(full), hdl});
    run();
    caf::error result;
    rh.receive([](bool) {}, [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  /// Binds a new fake session to `full`.
  session bind(const std::string& full) {
    session s{J(full), {}, std::make_shared<inbox>()};
    s.hdl = sys.spawn(fake_session, s.box);
    // (the fixture's request<T>() helper does not compile in CAF 0.17.6:
    // it calls an undefined FAIL macro)
    auto rh = self->request(router.shard_for(s.full), caf::infinite,
                            msg::bind{s.full, s.hdl});
    run();
    rh.receive([&](bool replaced) { s.replaced = replaced; },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return s;
  }

  void unbind(const session& s) {
    caf::anon_send(router.shard_for(s.full), msg::unbind{s.full, s.hdl});
    run();
  }

  void presence(const session& s, bool available, int priority = 0) {
    caf::anon_send(router.shard_for(s.full),
                   msg::presence_state{s.full, s.hdl, available, priority});
    run();
  }

  /// What a session does with an outgoing stanza (from already stamped).
  void route(xml::element_ptr e) {
    auto from = J(e->attr_or("from"));
    auto to = J(e->attr_or("to"));
    caf::anon_send(router.shard_for(to), msg::route{e, from, to});
    run();
  }
};

struct two_shards : fixture<2> {
  two_shards() {
    // Alice and Bob live on different shards, so bounces cross shards.
    CAF_REQUIRE(router.shard_for(J("alice@example.org"))
                != router.shard_for(J("bob@example.org")));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_tests, two_shards)

CAF_TEST(a stanza to a bound full JID reaches exactly that session) {
  auto alice = bind("alice@example.org/home");
  auto phone = bind("bob@example.org/phone");
  auto desk = bind("bob@example.org/desk");
  CAF_CHECK(!phone.replaced);
  presence(desk, true, 10); // priority does not matter for a full JID
  auto m = stanza("message", "alice@example.org/home",
                  "bob@example.org/phone", "chat");
  route(m);
  CAF_REQUIRE_EQUAL(phone.got(), 1u);
  CAF_CHECK(phone.box->stanzas[0] == m); // the same stanza, not a copy
  CAF_CHECK_EQUAL(desk.got(), 0u);
  CAF_CHECK_EQUAL(alice.got(), 0u);
  route(stanza("iq", "alice@example.org/home", "bob@example.org/desk", "get"));
  CAF_CHECK_EQUAL(desk.got(), 1u);
  CAF_CHECK_EQUAL(phone.got(), 1u);
  CAF_CHECK(asked->empty());
}

CAF_TEST(a second bind of a full JID replaces the older session) {
  auto alice = bind("alice@example.org/home");
  auto old_s = bind("bob@example.org/phone");
  auto new_s = bind("bob@example.org/phone");
  CAF_CHECK(!old_s.replaced);
  CAF_CHECK(new_s.replaced);
  CAF_CHECK_EQUAL(old_s.box->conflicts, 1);
  CAF_CHECK_EQUAL(new_s.box->conflicts, 0);
  route(stanza("message", "alice@example.org/home", "bob@example.org/phone",
               "chat", "m1"));
  CAF_CHECK_EQUAL(old_s.got(), 0u);
  CAF_CHECK_EQUAL(new_s.got(), 1u);
  CAF_MESSAGE("the old session's presence and unbind change nothing");
  presence(new_s, true, 1);
  presence(old_s, false, -1);
  unbind(old_s);
  route(stanza("message", "alice@example.org/home", "bob@example.org/phone",
               "chat", "m2"));
  CAF_CHECK_EQUAL(new_s.got(), 2u);
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "chat", "m3"));
  CAF_CHECK_EQUAL(new_s.got(), 3u); // still available with priority 1
  CAF_CHECK_EQUAL(old_s.got(), 0u);
  CAF_MESSAGE("the new session's unbind removes the entry");
  unbind(new_s);
  route(stanza("iq", "alice@example.org/home", "bob@example.org/phone",
               "get", "q1"));
  CAF_CHECK_EQUAL(new_s.got(), 3u);
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  CAF_CHECK_EQUAL(condition(alice.last()), "service-unavailable");
}

CAF_TEST(a message to a bare JID goes to the highest non-negative priority) {
  auto alice = bind("alice@example.org/home");
  auto a = bind("bob@example.org/a");
  auto b = bind("bob@example.org/b");
  auto c = bind("bob@example.org/c");
  auto d = bind("bob@example.org/d");
  auto e = bind("bob@example.org/e");
  presence(a, true, 5);
  presence(b, true, 5);
  presence(c, true, 1);
  presence(d, true, -1);
  presence(e, false, 50); // unavailable: its priority does not count
  route(stanza("message", "alice@example.org/home", "bob@example.org", "chat",
               "m1"));
  CAF_CHECK_EQUAL(a.got(), 1u);
  CAF_CHECK_EQUAL(b.got(), 1u);
  CAF_CHECK_EQUAL(c.got(), 0u);
  CAF_CHECK_EQUAL(d.got(), 0u);
  CAF_CHECK_EQUAL(e.got(), 0u);
  CAF_MESSAGE("a headline: every non-negative available resource");
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "headline", "h1"));
  CAF_CHECK_EQUAL(a.got(), 2u);
  CAF_CHECK_EQUAL(b.got(), 2u);
  CAF_CHECK_EQUAL(c.got(), 1u);
  CAF_CHECK_EQUAL(d.got(), 0u);
  CAF_CHECK_EQUAL(e.got(), 0u);
  CAF_MESSAGE("presence to the bare JID: every available resource");
  route(stanza("presence", "alice@example.org/home", "bob@example.org", ""));
  CAF_CHECK_EQUAL(a.got(), 3u);
  CAF_CHECK_EQUAL(c.got(), 2u);
  CAF_CHECK_EQUAL(d.got(), 1u); // negative priority still gets presence
  CAF_CHECK_EQUAL(e.got(), 0u);
  CAF_MESSAGE("a and b go away: c is the best now");
  presence(a, false);
  presence(b, false);
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "normal", "m2"));
  CAF_CHECK_EQUAL(a.got(), 3u);
  CAF_CHECK_EQUAL(c.got(), 3u);
  CAF_CHECK_EQUAL(d.got(), 1u);
  CAF_MESSAGE("only a negative priority left: offline");
  presence(c, false);
  route(stanza("message", "alice@example.org/home", "bob@example.org", "chat",
               "m3"));
  CAF_CHECK_EQUAL(d.got(), 1u);
  CAF_CHECK_EQUAL(*asked, (deliver_log{"bob@example.org"}));
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  CAF_CHECK_EQUAL(condition(alice.last()), "service-unavailable");
}

CAF_TEST(with no available resource the deliver hook goes before a bounce) {
  auto alice = bind("alice@example.org/home");
  auto bob = bind("bob@example.org/phone"); // bound, never available
  auto m = stanza("message", "alice@example.org/home", "bob@example.org",
                  "chat", "m1");
  route(m);
  CAF_CHECK_EQUAL(bob.got(), 0u);
  CAF_CHECK_EQUAL(*asked, (deliver_log{"bob@example.org"}));
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  auto& err = alice.last();
  CAF_CHECK_EQUAL(err.name, "message");
  CAF_CHECK_EQUAL(condition(err), "service-unavailable");
  CAF_CHECK_EQUAL(err.attr_or("id"), "m1");
  CAF_CHECK_EQUAL(err.attr_or("to"), "alice@example.org/home");
  CAF_CHECK_EQUAL(err.attr_or("from"), "bob@example.org");
  CAF_MESSAGE("a full JID with no such resource falls back to the bare JID");
  route(stanza("message", "alice@example.org/home", "bob@example.org/gone",
               "chat", "m2"));
  CAF_CHECK_EQUAL(asked->size(), 2u);
  CAF_CHECK_EQUAL(alice.got(), 2u);
  CAF_MESSAGE("headlines are dropped silently, without the hook");
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "headline", "m3"));
  CAF_CHECK_EQUAL(asked->size(), 2u);
  CAF_CHECK_EQUAL(alice.got(), 2u);
  CAF_MESSAGE("a stanza the hook takes is not bounced");
  route(stanza("message", "alice@example.org/home", "carol@store.example",
               "chat", "m4"));
  CAF_CHECK_EQUAL(*stored, (deliver_log{"carol@store.example"}));
  CAF_CHECK_EQUAL(alice.got(), 2u);
}

CAF_TEST(a groupchat message to an unavailable full JID is bounced) {
  auto alice = bind("alice@example.org/home");
  route(stanza("message", "alice@example.org/home", "bob@example.org/gone",
               "groupchat"));
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  CAF_CHECK_EQUAL(condition(alice.last()), "service-unavailable");
  CAF_CHECK(asked->empty());
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "groupchat"));
  CAF_CHECK_EQUAL(alice.got(), 2u);
  CAF_CHECK_EQUAL(condition(alice.last()), "service-unavailable");
}

CAF_TEST(an error message is never bounced) {
  auto alice = bind("alice@example.org/home");
  route(stanza("message", "alice@example.org/home", "bob@example.org/gone",
               "error"));
  route(stanza("message", "alice@example.org/home", "bob@example.org",
               "error"));
  route(stanza("message", "alice@example.org/home", "nobody@elsewhere.net",
               "error"));
  CAF_CHECK_EQUAL(alice.got(), 0u);
  CAF_CHECK(asked->empty());
}

CAF_TEST(an iq get to an unknown full JID is answered with an error) {
  auto alice = bind("alice@example.org/home");
  route(stanza("iq", "alice@example.org/home", "bob@example.org/gone", "get",
               "q1"));
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  auto& err = alice.last();
  CAF_CHECK_EQUAL(err.name, "iq");
  CAF_CHECK_EQUAL(err.attr_or("id"), "q1");
  CAF_CHECK_EQUAL(err.attr_or("from"), "bob@example.org/gone");
  CAF_CHECK_EQUAL(condition(err), "service-unavailable");
  CAF_MESSAGE("results and presences to nowhere vanish");
  route(stanza("iq", "alice@example.org/home", "bob@example.org/gone",
               "result", "q2"));
  route(stanza("presence", "alice@example.org/home", "bob@example.org/gone",
               ""));
  CAF_CHECK_EQUAL(alice.got(), 1u);
  CAF_CHECK(asked->empty());
}

CAF_TEST(a stanza for an unknown domain gets remote-server-not-found) {
  auto alice = bind("alice@example.org/home");
  route(stanza("message", "alice@example.org/home", "x@elsewhere.net", "chat",
               "m1"));
  CAF_REQUIRE_EQUAL(alice.got(), 1u);
  CAF_CHECK_EQUAL(condition(alice.last()), "remote-server-not-found");
  CAF_CHECK_EQUAL(alice.last().attr_or("from"), "x@elsewhere.net");
  CAF_CHECK_EQUAL(alice.last().attr_or("id"), "m1");
  CAF_CHECK(asked->empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(single_shard_tests, fixture<1>)

CAF_TEST(one shard routes and bounces the same way) {
  auto alice = bind("alice@example.org/home");
  auto bob = bind("bob@example.org/phone");
  presence(bob, true, 0);
  route(stanza("message", "alice@example.org/home", "bob@example.org", "chat"));
  CAF_CHECK_EQUAL(bob.got(), 1u);
  route(stanza("iq", "bob@example.org/phone", "alice@example.org/gone", "set"));
  CAF_REQUIRE_EQUAL(bob.got(), 2u);
  CAF_CHECK_EQUAL(condition(bob.last()), "service-unavailable");
  CAF_CHECK_EQUAL(alice.got(), 0u);
  CAF_CHECK(bind("bob@example.org/phone").replaced);
  CAF_CHECK_EQUAL(bob.box->conflicts, 1);
}

CAF_TEST(an account binds at most limits.max_resources resources) {
  dja::limits bounds;
  bounds.max_resources = 2;
  restart_router(bounds);
  auto a = bind("alice@example.org/a");
  auto b = bind("alice@example.org/b");
  CAF_MESSAGE("a third resource is refused (RFC 6120 §7.6.2.1)");
  CAF_CHECK(msg::is_bind_refused(bind_error("alice@example.org/c")));
  CAF_MESSAGE("rebinding a bound resource replaces it, it is not one more");
  auto b2 = bind("alice@example.org/b");
  CAF_CHECK(b2.replaced);
  CAF_CHECK_EQUAL(b.box->conflicts, 1);
  CAF_MESSAGE("other accounts are not affected");
  CAF_CHECK(!bind_error("bob@example.org/a"));
  CAF_MESSAGE("a resource that leaves frees its place");
  unbind(a);
  CAF_CHECK(!bind_error("alice@example.org/c"));
  CAF_CHECK(msg::is_bind_refused(bind_error("alice@example.org/d")));
  route(stanza("message", "bob@example.org/a", "alice@example.org/b", "chat"));
  CAF_CHECK_EQUAL(b2.got(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
