#define CAF_SUITE session.sm

// XEP-0198 on the session actor, driven by the deterministic test
// coordinator: detach when the connection is lost (§5), queue, resume on
// a new connection with what the client's h says it missed (XEP-0203
// stamped), refuse another user or an h above what was sent, and at the
// end of the wait route what it held again (RFC 6121 §8.5: offline
// storage for a message, an error for an iq). A resumption while the
// connection still looks alive (half-open) takes the session over. The
// router is the real one; the connections and the vhost are fakes.

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/server_context.hpp"
#include "hooks/catalogue.hpp"
#include "router/router.hpp"
#include "session/session.hpp"

using namespace dja;

namespace {

jid J(const std::string& s) {
  return *jid::parse(s);
}

/// What a fake connection (or a fake session of the router) got.
struct inbox {
  std::vector<xml::element_ptr> stanzas;
  int closed = 0;
  int silenced = 0; ///< close_stream without a condition (a takeover)
};

caf::behavior fake_conn(caf::event_based_actor*, std::shared_ptr<inbox> box) {
  return {
    [box](const msg::to_client& m) { box->stanzas.push_back(m.stanza); },
    [box](const msg::deliver_local& d) { box->stanzas.push_back(d.stanza); },
    [box](closed_atom) { ++box->closed; },
    [box](const msg::close_stream& m) {
      if (m.condition.empty())
        ++box->silenced;
    },
    [](drain_atom) {},
  };
}

/// The JIDs the vhost's `deliver` hook was asked for (all taken: stored).
using deliver_log = std::vector<std::string>;

caf::behavior fake_store(caf::event_based_actor*,
                         std::shared_ptr<deliver_log> log) {
  return {
    [log](const hooks::deliver& d) {
      log->push_back(d.stanza->name + " " + d.to.str());
      return hooks::delivery_verdict{d.stanza->name == "message", {}};
    },
  };
}

xml::element_ptr message(const std::string& id) {
  auto e = std::make_shared<xml::element>("message", ns::client);
  e->set_attr("from", "bob@example.org/desk");
  e->set_attr("to", "alice@example.org/phone");
  e->set_attr("type", "chat").set_attr("id", id);
  e->add_child(xml::element{"body", ns::client}).add_text(id);
  return e;
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<deliver_log> stored = std::make_shared<deliver_log>();
  std::shared_ptr<vhost_table> table = std::make_shared<vhost_table>();
  std::shared_ptr<server_context> ctx = std::make_shared<server_context>();
  std::shared_ptr<inbox> old_box = std::make_shared<inbox>();
  std::shared_ptr<inbox> new_box = std::make_shared<inbox>();
  std::shared_ptr<inbox> bob_box = std::make_shared<inbox>();
  caf::actor old_conn;
  caf::actor new_conn;
  caf::actor bob;
  caf::actor session;
  jid full = J("alice@example.org/phone");

  fixture() {
    (*table)["example.org"].actor = sys.spawn(fake_store, stored);
    ctx->router.shards = spawn_router(sys, 1, table);
    old_conn = sys.spawn(fake_conn, old_box);
    new_conn = sys.spawn(fake_conn, new_box);
    bob = sys.spawn(fake_conn, bob_box);
    session = spawn_session(sys, full, old_conn, ctx, "test");
    run();
    bind(full, session);
    bind(J("bob@example.org/desk"), bob);
  }

  ~fixture() override {
    for (auto& s : ctx->router.shards)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    run();
  }

  /// Runs what is queued, but no timer (run() would fire them).
  void step() {
    sched.run();
  }

  void bind(const jid& j, const caf::actor& hdl) {
    auto rh = self->request(ctx->router.shard_for(j), caf::infinite,
                            msg::bind{j, hdl});
    step();
    rh.receive([](bool) {}, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  }

  void route(xml::element_ptr e) {
    auto to = J(e->attr_or("to"));
    caf::anon_send(ctx->router.shard_for(to),
                   msg::route{e, J(e->attr_or("from")), to});
    step();
  }

  /// The client enabled resumption, received `unacked`, and its
  /// connection died.
  void detach(std::vector<xml::element_ptr> unacked) {
    caf::anon_send(session, msg::sm_enabled{"dja.x", std::chrono::seconds{60}});
    caf::anon_send(session, msg::sm_parked{2, 0, std::move(unacked), true});
    step();
  }

  msg::sm_resumed resume(const std::string& user, uint32_t h) {
    msg::sm_resumed out;
    auto rh = self->request(session, caf::infinite,
                            msg::sm_resume{J(user), h, new_conn});
    step();
    rh.receive([&](msg::sm_resumed& r) { out = std::move(r); },
               [&](caf::error& e) { out.failure = sys.render(e); });
    return out;
  }
};

bool stamped(const xml::element_ptr& e) {
  return e->child("delay", "urn:xmpp:delay") != nullptr;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(sm_tests, fixture)

CAF_TEST(a lost connection detaches; resuming resends what was missed) {
  detach({message("m1"), message("m2")});
  CAF_CHECK_EQUAL(old_box->closed, 1); // released: it handed back all
  route(message("m3"));                 // while detached: queued
  CAF_CHECK(old_box->stanzas.empty());
  CAF_CHECK(stored->empty());
  // h = 1: the client got m1 before the connection died.
  auto r = resume("alice@example.org", 1);
  CAF_REQUIRE_EQUAL(r.failure, "");
  CAF_CHECK_EQUAL(r.full, full);
  CAF_CHECK_EQUAL(r.handled, 2u);
  CAF_REQUIRE_EQUAL(r.resend.size(), 2u);
  CAF_CHECK_EQUAL(r.resend[0]->attr_or("id"), "m2");
  CAF_CHECK_EQUAL(r.resend[1]->attr_or("id"), "m3");
  CAF_CHECK(stamped(r.resend[0]) && stamped(r.resend[1]));
  // Attached to the new connection: stanzas go there, unstamped.
  route(message("m4"));
  CAF_REQUIRE_EQUAL(new_box->stanzas.size(), 1u);
  CAF_CHECK(!stamped(new_box->stanzas[0]));
  // Resuming it again while attached takes it over (sm_takeover.cpp):
  // the attached connection is told to close, without a stream error.
  self->request(session, caf::infinite,
                msg::sm_resume{J("alice@example.org"), 3, old_conn});
  step();
  CAF_CHECK_EQUAL(new_box->silenced, 1);
}

CAF_TEST(another user or too high an h cannot resume) {
  detach({message("m1")});
  CAF_CHECK_EQUAL(resume("bob@example.org", 0).failure, "item-not-found");
  auto r = resume("alice@example.org", 2); // one was sent
  CAF_CHECK_EQUAL(r.failure, "undefined-condition");
  CAF_CHECK_EQUAL(r.send_count, 1u);
  CAF_CHECK_EQUAL(r.handled, 2u);
  // Still detached: the right h resumes.
  r = resume("alice@example.org", 0);
  CAF_CHECK_EQUAL(r.failure, "");
  CAF_CHECK_EQUAL(r.resend.size(), 1u);
}

CAF_TEST(h counts modulo 2 ^ 32 across a resumption) {
  caf::anon_send(session, msg::sm_enabled{"dja.x", std::chrono::seconds{60}});
  // The client had acknowledged 2^32 - 1 stanzas; two more went out.
  caf::anon_send(session, msg::sm_parked{7, 4294967295u,
                                         {message("m1"), message("m2")},
                                         true});
  step();
  auto r = resume("alice@example.org", 0); // wrapped: m1 acknowledged
  CAF_REQUIRE_EQUAL(r.failure, "");
  CAF_REQUIRE_EQUAL(r.resend.size(), 1u);
  CAF_CHECK_EQUAL(r.resend[0]->attr_or("id"), "m2");
}

CAF_TEST(when the wait is over what was held is routed again) {
  detach({message("m1")});
  auto iq = std::make_shared<xml::element>("iq", ns::client);
  iq->set_attr("from", "bob@example.org/desk");
  iq->set_attr("to", "alice@example.org/phone");
  iq->set_attr("type", "get").set_attr("id", "q1");
  iq->add_child(xml::element{"ping", ns::ping});
  route(iq);
  CAF_CHECK(stored->empty());
  sched.trigger_timeouts();
  step();
  // The message went to offline storage; the iq came back as an error.
  CAF_REQUIRE(!stored->empty());
  CAF_CHECK_EQUAL(stored->at(0), "message alice@example.org/phone");
  CAF_REQUIRE_EQUAL(bob_box->stanzas.size(), 1u);
  auto& err = *bob_box->stanzas[0];
  CAF_CHECK_EQUAL(err.attr_or("type"), "error");
  CAF_CHECK_EQUAL(err.attr_or("id"), "q1");
  // The session is gone.
  CAF_CHECK_NOT_EQUAL(resume("alice@example.org", 0).failure, "");
}

CAF_TEST(a closed stream ends the session and routes the unacked) {
  caf::anon_send(session, msg::sm_enabled{"dja.x", std::chrono::seconds{60}});
  caf::anon_send(session, msg::sm_parked{0, 0, {message("m1")}, false});
  step();
  CAF_REQUIRE_EQUAL(stored->size(), 1u);
  CAF_CHECK_EQUAL(stored->at(0), "message alice@example.org/phone");
}

CAF_TEST(a resumption takes over a session whose connection looks alive) {
  // XEP-0198 §5 on a half-open link: the old connection is still
  // attached when the client resumes on a new one.
  caf::anon_send(session, msg::sm_enabled{"dja.x", std::chrono::seconds{60}});
  step();
  route(message("m1"));
  route(message("m2"));
  CAF_REQUIRE_EQUAL(old_box->stanzas.size(), 2u);
  auto rh = self->request(session, caf::infinite,
                          msg::sm_resume{J("alice@example.org"), 1, new_conn});
  step();
  // The old connection is told to close without a stream error ...
  CAF_CHECK_EQUAL(old_box->silenced, 1);
  // ... and what comes meanwhile waits in the session.
  route(message("m3"));
  CAF_CHECK_EQUAL(old_box->stanzas.size(), 2u);
  CAF_CHECK(new_box->stanzas.empty());
  // A second resumption while the first waits is refused.
  CAF_CHECK_EQUAL(resume("alice@example.org", 1).failure, "item-not-found");
  // The old connection hands over: it had received 5 stanzas from the
  // client, which had acknowledged nothing; h = 1 says m1 arrived.
  caf::anon_send(session, msg::sm_parked{5, 0, {message("m1"), message("m2")},
                                         false});
  step();
  msg::sm_resumed r;
  rh.receive([&](msg::sm_resumed& x) { r = std::move(x); },
             [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_REQUIRE_EQUAL(r.failure, "");
  CAF_CHECK_EQUAL(r.full, full);
  CAF_CHECK_EQUAL(r.handled, 5u);
  CAF_REQUIRE_EQUAL(r.resend.size(), 2u);
  CAF_CHECK_EQUAL(r.resend[0]->attr_or("id"), "m2");
  CAF_CHECK_EQUAL(r.resend[1]->attr_or("id"), "m3");
  CAF_CHECK_EQUAL(old_box->closed, 1); // let go
  route(message("m4"));
  CAF_REQUIRE_EQUAL(new_box->stanzas.size(), 1u);
  CAF_CHECK_EQUAL(new_box->stanzas[0]->attr_or("id"), "m4");
  CAF_CHECK(stored->empty());
}

CAF_TEST(an old connection that dies before handing over ends the session) {
  caf::anon_send(session, msg::sm_enabled{"dja.x", std::chrono::seconds{60}});
  step();
  auto rh = self->request(session, caf::infinite,
                          msg::sm_resume{J("alice@example.org"), 0, new_conn});
  step();
  route(message("m1")); // waits for the takeover
  caf::anon_send_exit(old_conn, caf::exit_reason::kill);
  step();
  msg::sm_resumed r;
  rh.receive([&](msg::sm_resumed& x) { r = std::move(x); },
             [&](caf::error& e) { r.failure = sys.render(e); });
  CAF_CHECK_EQUAL(r.failure, "item-not-found");
  // Nothing vanishes: m1 reached offline storage.
  CAF_REQUIRE_EQUAL(stored->size(), 1u);
  CAF_CHECK_EQUAL(stored->at(0), "message alice@example.org/phone");
}

CAF_TEST_FIXTURE_SCOPE_END()
