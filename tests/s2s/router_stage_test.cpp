#define CAF_SUITE s2s.router_stage

// The router's s2s stage: with federation on (an s2s actor given to the
// shards), stanzas for domains not served here go to it unchanged and in
// order; local ones never do; without it they bounce as before.

#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "common/server_context.hpp"
#include "router/router.hpp"

using namespace dja;

namespace {

jid J(const std::string& s) {
  return *jid::parse(s);
}

using route_log = std::vector<msg::route>;

caf::behavior fake_s2s(caf::event_based_actor*,
                       std::shared_ptr<route_log> log) {
  return {[log](msg::route& r) { log->push_back(r); }};
}

caf::behavior fake_session(caf::event_based_actor*,
                           std::shared_ptr<std::vector<xml::element_ptr>> box) {
  return {[box](const msg::deliver_local& d) { box->push_back(d.stanza); }};
}

xml::element_ptr message(const std::string& from, const std::string& to,
                         const std::string& id) {
  auto e = std::make_shared<xml::element>("message", ns::client);
  e->set_attr("from", from).set_attr("to", to).set_attr("id", id);
  return e;
}

struct fixture : test_coordinator_fixture<> {
  router_ref router;
  std::shared_ptr<route_log> remote = std::make_shared<route_log>();
  caf::actor s2s;

  fixture() {
    auto table = std::make_shared<vhost_table>();
    (*table)["a.test"] = vhost_info{};
    router.shards = spawn_router(sys, 2, table);
    s2s = sys.spawn(fake_s2s, remote);
    run();
  }

  ~fixture() override {
    for (auto& s : router.shards)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    run();
  }

  void enable_s2s() {
    for (auto& s : router.shards)
      caf::anon_send(s, s2s_route_atom::value, s2s);
    run();
  }

  void route(xml::element_ptr e) {
    auto from = J(e->attr_or("from"));
    auto to = J(e->attr_or("to"));
    caf::anon_send(router.shard_for(to), msg::route{e, from, to});
    run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(s2s_stage, fixture)

CAF_TEST(remote domains go to the s2s stage unchanged and in order) {
  enable_s2s();
  std::vector<xml::element_ptr> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(message("alice@a.test/r", "bob@b.test/r",
                           "m" + std::to_string(i)));
    route(sent.back());
  }
  CAF_REQUIRE_EQUAL(remote->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    CAF_CHECK((*remote)[i].stanza == sent[i]); // the same stanza, in order
    CAF_CHECK_EQUAL((*remote)[i].to.str(), "bob@b.test/r");
    CAF_CHECK_EQUAL((*remote)[i].from.str(), "alice@a.test/r");
  }
}

CAF_TEST(local domains never reach the s2s stage) {
  enable_s2s();
  auto box = std::make_shared<std::vector<xml::element_ptr>>();
  auto bob = sys.spawn(fake_session, box);
  auto rh = self->request(router.shard_for(J("bob@a.test")), caf::infinite,
                          msg::bind{J("bob@a.test/r"), bob});
  run();
  rh.receive([](bool) {}, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  route(message("carol@b.test/x", "bob@a.test/r", "in1"));
  CAF_CHECK_EQUAL(box->size(), 1u);
  CAF_CHECK(remote->empty());
}

CAF_TEST(without federation remote domains bounce) {
  auto box = std::make_shared<std::vector<xml::element_ptr>>();
  auto alice = sys.spawn(fake_session, box);
  auto rh = self->request(router.shard_for(J("alice@a.test")), caf::infinite,
                          msg::bind{J("alice@a.test/r"), alice});
  run();
  rh.receive([](bool) {}, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  route(message("alice@a.test/r", "bob@b.test/r", "m1"));
  CAF_CHECK(remote->empty());
  CAF_REQUIRE_EQUAL(box->size(), 1u);
  auto err = box->front()->child("error");
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK_EQUAL(err->first_element()->name, "remote-server-not-found");
}

CAF_TEST_FIXTURE_SCOPE_END()
